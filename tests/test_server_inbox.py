"""The local server's inbox page (tools/localpushover/inbox.py).
"""

import re
from html.parser import HTMLParser

import pytest

from api_cases import PNG, TOKEN, USER
from fake_time import FakeTime
from server_helpers import (  # noqa: F401
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

pytestmark = pytest.mark.timeout(20)  # a hang becomes a failure


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


# ---- each message as a phone shows it (the page read with an HTML parser)

class Page(HTMLParser):
    """Every element of a page with its attributes, its text and the id of the message card
    it is in (None outside any)."""

    VOID = {"meta", "img", "br", "input", "link"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.stack = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        card = next((e["card"] for e in reversed(self.stack) if e["card"]), None)
        if tag == "div" and "m" in (attrs.get("class") or "").split() and attrs.get("id"):
            card = attrs["id"]
        el = {"tag": tag, "attrs": attrs, "text": "", "card": card}
        self.elements.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for el in self.stack:
            el["text"] += data

    def card(self, mid):
        return [e for e in self.elements if e["card"] == mid]


def card_of(srv, message_id=None):
    page = Page(call(srv, "GET", "/").body.decode())
    mid = message_id or srv.messages()[0]["id"]
    els = page.card(mid)
    assert els, "no card for message %s" % mid
    return page, els


def tags(els, tag):
    return [e for e in els if e["tag"] == tag]


HOSTILE = ("<script>alert(1)</script><img src=x onerror=alert(2)>"
           "<a href='javascript:alert(3)'>js</a><font color='red;background:url(x)'>f</font>"
           "<iframe src='/'></iframe>")


def test_html_subset_rendered_and_everything_else_escaped(srv):
    assert_ok(send(srv, html="1", message="<b>bold</b> <i>it</i> <u>under</u> "
                   "<font color='#ff0000'>red</font> <a href='https://example.invalid/x'>"
                   "link</a> &amp; " + HOSTILE))
    page, els = card_of(srv)
    body = next(e for e in els if "b" in (e["attrs"].get("class") or "").split())
    assert [e["text"] for e in tags(els, "b")][:1] == ["bold"]
    assert [e["text"] for e in tags(els, "i")] == ["it"]
    assert [e["text"] for e in tags(els, "u")] == ["under"]
    assert [(e["attrs"], e["text"]) for e in tags(els, "font")] == [({"color": "#ff0000"}, "red")]
    links = [(e["attrs"]["href"], e["text"]) for e in tags(els, "a")]
    assert links == [("https://example.invalid/x", "link")]
    for t in ("script", "iframe", "img"):
        assert tags(els, t) == [], t  # no image either: this message has no attachment
    assert "<script>alert(1)</script>" in body["text"]  # shown as text
    assert "<img src=x onerror=alert(2)>" in body["text"] and "& " in body["text"]
    assert [e["attrs"].get("src") for e in tags(page.elements, "script")] == ["/inbox/live.js"]


def test_without_html_every_tag_is_text(srv):
    assert_ok(send(srv, message="<b>not bold</b> " + HOSTILE, title="<i>t</i>"))
    page, els = card_of(srv)
    assert {e["tag"] for e in els} <= {"div", "span", "details", "summary", "table", "tr", "td"}
    assert any("<b>not bold</b> <script>" in e["text"] for e in els)
    assert any(e["text"] == "<i>t</i>" for e in tags(els, "span"))
    assert len(tags(page.elements, "script")) == 1


def test_monospace_url_title_priority_sound_and_time(srv):
    assert_ok(send(srv, monospace="1", message="col1  col2\nrow1  row2",
                   url="https://example.invalid/door", url_title="Open the camera",
                   priority="1", sound="siren", timestamp="1700000000", title="Door"))
    _, els = card_of(srv)
    mono = [e for e in els if "mono" in (e["attrs"].get("class") or "")]
    assert [e["text"] for e in mono] == ["col1  col2\nrow1  row2"]
    assert [(e["attrs"]["href"], e["text"]) for e in tags(els, "a")] == [
        ("https://example.invalid/door", "Open the camera")]
    text = " ".join(e["text"] for e in els if e["tag"] == "span")
    assert "2023-11-14 22:13:20 UTC" in text  # the timestamp, not the arrival
    assert "priority 1 (high)" in text and "sound: siren" in text
    assert any(e["text"] == "Door" and "t" in e["attrs"]["class"].split() for e in els)


def test_app_name_when_there_is_no_title_and_unsafe_url_not_linked(srv):
    assert_ok(send(srv, message="no title", url="javascript:alert(1)"))
    _, els = card_of(srv)
    app = [e for e in els if "app" in (e["attrs"].get("class") or "").split()]
    assert [e["text"] for e in app] == ["App " + TOKEN[:4] + "\u2026"]
    assert tags(els, "a") == []
    assert any(e["text"] == "javascript:alert(1)" for e in els)  # shown, not a link


def test_emergency_state_realerts_expiry_and_acknowledgement(tmp_path):
    clock = FakeTime(1_700_000_000)
    with make_server(tmp_path, clock=clock.clock) as srv:
        receipt = emergency(srv, retry="60", expire="3600")
        clock.now += 130
        _, els = card_of(srv)
        alert = next(e for e in els if "alert" in (e["attrs"].get("class") or "").split())
        assert "alerting" in alert["text"] and "re-alerts so far: 2 (every 60 s)" in alert["text"]
        assert "expires 2023-11-14 23:13:20 UTC" in alert["text"]
        assert receipt not in alert["text"] and receipt[:4] + "\u2026" in alert["text"]
        assert tags(els, "button")
        srv.acknowledge(receipt, device="watch")
        clock.now += 600
        _, els = card_of(srv)
        alert = next(e for e in els if "alert" in (e["attrs"].get("class") or "").split())
        assert "acknowledged" in alert["text"] and "re-alerts so far: 2" in alert["text"]
        assert ("acknowledged by %s on watch at 2023-11-14 22:15:30 UTC" % (USER[:4] + "\u2026")
                in alert["text"])
        assert tags(els, "button") == []


def test_image_shown_in_its_card(srv):
    assert_ok(send_multipart(srv, multipart_with(("door.png", PNG, None))))
    _, els = card_of(srv)
    assert [e["attrs"]["src"] for e in tags(els, "img")] == [srv.messages()[0]["attachment"]["url"]]


def test_new_messages_appear_without_a_reload(srv):
    """The page loads /inbox/live.js (allowed by its CSP, no inline script), which polls
    /inbox/list.html and swaps it into #list: the list shows what arrived since."""
    r = call(srv, "GET", "/")
    csp = r.header("Content-Security-Policy")
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe-inline" \
        not in csp.split("script-src")[1].split(";")[0]
    page = Page(r.body.decode())
    assert [e["attrs"]["id"] for e in page.elements if e["attrs"].get("id") == "list"] == ["list"]
    js = call(srv, "GET", "/inbox/live.js")
    assert js.status == 200 and js.header("Content-Type").startswith("text/javascript")
    assert "/inbox/list.html" in js.body.decode() and "innerHTML" in js.body.decode()
    before = call(srv, "GET", "/inbox/list.html").body.decode()
    assert "0 message(s)" in before
    assert_ok(send(srv, message="arrived later"))
    after = Page(call(srv, "GET", "/inbox/list.html").body.decode())
    assert any("arrived later" in e["text"] for e in after.card(srv.messages()[0]["id"]))
