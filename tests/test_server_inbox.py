"""The local server's inbox page (tools/localpushover/inbox.py).
"""

import re

from api_cases import PNG, TOKEN
from server_helpers import (  # noqa: F401
    _time_bound,
    assert_ok,
    call,
    emergency,
    fields,
    make_server,
    multipart_with,
    poll,
    send,
    send_multipart,
    srv_fixture,
)


def test_inbox_acknowledge_button(tmp_path):
    """A person acknowledges an alerting emergency from the inbox page: a plain form posts to
    /_control/ack-message/<message id>, which acknowledges its receipt and redirects back."""
    with make_server(tmp_path) as srv:
        receipt = emergency(srv)
        send(srv, message="not an emergency")
        page = call(srv, "GET", "/").body.decode()
        assert page.count("<button>Acknowledge</button>") == 1
        assert receipt not in page  # still masked
        mid = srv.messages()[1]["id"]
        action = re.search(r"<form method='post' action='([^']+)'>", page).group(1)
        assert action == "/_control/ack-message/" + mid
        r = call(srv, "POST", action, b"")
        assert r.status == 303 and r.header("Location") == "/#" + mid
        assert poll(srv, receipt).json["acknowledged"] == 1
        assert "<button>Acknowledge</button>" not in call(srv, "GET", "/").body.decode()
        assert call(srv, "POST", action, b"").status == 303  # twice: no change, no error
        assert poll(srv, receipt).json["acknowledged"] == 1
        other = srv.messages()[0]["id"]
        assert call(srv, "POST", "/_control/ack-message/" + other, b"").status == 404
        assert call(srv, "POST", "/_control/ack-message/nope", b"").status == 404


def test_inbox_html_newest_first_with_image(srv):
    assert_ok(send(srv, message="first <b>one</b>", title="Oldest"))
    assert_ok(send_multipart(srv, multipart_with(("door.png", PNG, "image/png"),
                                                 [("title", "Newest")])))
    r = call(srv, "GET", "/")
    assert r.status == 200 and r.header("Content-Type").startswith("text/html")
    page = r.body.decode()
    assert page.index("Newest") < page.index("Oldest")
    assert "first &lt;b&gt;one&lt;/b&gt;" in page and "<b>one</b>" not in page
    srcs = re.findall(r"<img src='([^']+)'", page)
    assert srcs == [srv.messages()[0]["attachment"]["url"]]
    img = call(srv, "GET", srcs[0])
    assert img.body == PNG and img.header("Content-Type") == "image/png"
    assert "img-src 'self'" in r.header("Content-Security-Policy")
    assert "2 message(s)" in page
    assert call(srv, "GET", "/inbox/attachments/nothing.png").status == 404
    assert call(srv, "GET", "/inbox/attachments/..%2Fmessages").status == 404


def test_inbox_json(srv):
    assert_ok(send(srv, message="one"))
    assert_ok(send(srv, message="two"))
    r = call(srv, "GET", "/inbox.json")
    assert r.status == 200 and r.header("Content-Type").startswith("application/json")
    assert [m["fields"]["message"] for m in r.json] == ["two", "one"]
    assert r.json == srv.messages()
    assert r.json[0]["token"] == TOKEN[:4] + "\u2026"
