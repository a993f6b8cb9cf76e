"""The local server over HTTP (tools/localpushover/httpd.py): every field rule of the table
through a real socket, body decoding and its limits, endpoints, keys kept secret, fault modes.
"""

import base64
import hashlib
import http.client
import io
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from urllib3 import encode_multipart_formdata

import pushover_server
from api_cases import CASES, OTHER_TOKEN, PNG, TOKEN, USER, USER2, E
from fake_time import FakeTime
from pushover_server import FAULT_MODES, MAX_ATTACHMENT
from server_helpers import (  # noqa: F401
    FORM,
    JPEG,
    KEYS,
    LIMIT_HEADERS,
    api_records,
    assert_error_shape,
    assert_ok,
    call,
    closed,
    closed_without_reply,
    connect,
    emergency,
    fields,
    find_leak,
    head,
    make_server,
    multipart_with,
    poll,
    raw_post,
    read_reply,
    send,
    send_json,
    send_multipart,
    shared_fixture,
    srv_fixture,
)

pytestmark = pytest.mark.timeout(20)  # a hang becomes a failure


@pytest.mark.parametrize("over,bad", [c[1:3] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_field_rule_form(shared, over, bad):
    before = len(shared.messages())
    r = send(shared, **over)
    if bad:
        assert_error_shape(r, bad)
        assert len(shared.messages()) == before  # nothing stored
    else:
        p = assert_ok(r)
        stored = shared.messages()[0]
        assert stored["request"] == p["request"]
        for k, v in over.items():
            if k in ("token", "user"):
                continue
            if v == "":
                assert k not in stored["fields"]  # an empty optional field counts as absent
            elif k != "attachment_base64":
                assert stored["fields"][k] == v


@pytest.mark.parametrize("name", ["message-1024-emoji", "message-1025-emoji", "title-251",
                                  "users-51", "html-and-monospace", "emergency-limits",
                                  "base64-without-type", "priority--3"])
def test_field_rule_same_in_json_and_multipart(shared, name):
    over, bad = next(c[1:3] for c in CASES if c[0] == name)
    f = fields(**over)
    for r in (send_json(shared, f), send_multipart(shared, list(f.items()))):
        if bad:
            assert_error_shape(r, bad)
        else:
            assert_ok(r)


def test_json_body_numbers_and_booleans(srv):
    r = send_json(srv, {"token": TOKEN, "user": USER, "message": "json", "priority": 2,
                        "retry": 30, "expire": 60, "html": True, "ttl": None})
    p = assert_ok(r)
    assert len(p["receipt"]) == 30
    f = srv.messages()[0]["fields"]
    assert (f["priority"], f["retry"], f["html"], srv.messages()[0]["encoding"]) == (
        "2", "30", "1", "json")
    assert "ttl" not in f
    assert_error_shape(send_json(srv, fields(priority=1.5)), ["priority"])
    assert_error_shape(send_json(srv, fields(title=["a", "list"])), ["title"])


def test_error_shape_many_bad_fields(srv):
    r = send(srv, token="short", user=USER + ",", message=" ", title="t" * 251, device="a b",
             priority="9", ttl="0")
    p = assert_error_shape(r, ["token", "user", "message", "title", "device", "priority", "ttl"])
    assert len(p["errors"]) == 7
    assert any("token" in e for e in p["errors"])
    assert r.header("Content-Type").startswith("application/json")
    for h in LIMIT_HEADERS:  # quota headers on an error reply of messages.json too
        assert r.header(h).isdigit()
    other = send(srv, message="")
    assert other.json["request"] != p["request"]


def test_error_names_length_in_characters(srv):
    p = assert_error_shape(send(srv, message=E * 1025), ["message"])
    assert "1025" in p["errors"][0] and "1024" in p["errors"][0]


def test_base64_plus_sent_as_space_gets_a_hint(srv):
    b64 = base64.b64encode(b"\xfb\xef" * 30).decode()
    assert "+" in b64
    body = urlencode(fields(attachment_type="image/png")) + "&attachment_base64=" + b64
    p = assert_error_shape(call(srv, "POST", "/1/messages.json", body), ["attachment_base64"])
    assert "space" in p["errors"][0]


def test_attachment_exactly_at_limit_is_stored(srv):
    data = (PNG * (MAX_ATTACHMENT // len(PNG) + 1))[:MAX_ATTACHMENT]
    p = assert_ok(send_multipart(srv, multipart_with(("big.png", data, "image/png"))))
    a = srv.messages()[0]["attachment"]
    assert srv.messages()[0]["request"] == p["request"]
    assert a["size"] == MAX_ATTACHMENT
    assert a["sha256"] == hashlib.sha256(data).hexdigest()
    assert (Path(srv.messages_dir) / a["stored_as"]).read_bytes() == data


def test_attachment_one_byte_over_limit_is_refused(srv):
    data = b"\x89PNG" + b"\0" * (MAX_ATTACHMENT - 3)
    p = assert_error_shape(send_multipart(srv, multipart_with(("big.png", data, "image/png"))),
                           ["attachment"])
    assert str(MAX_ATTACHMENT) in p["errors"][0]
    assert srv.messages() == []
    assert list(Path(srv.messages_dir).iterdir()) == []  # the partial upload was removed


@pytest.mark.parametrize("att,extra,bad", [
    (("notes.txt", b"hello", "text/plain"), (), ["attachment"]),
    (("x.png", b"", "image/png"), (), ["attachment"]),
    (("x.png", PNG, "application/octet-stream"), (), ["attachment"]),
    (None, [("attachment", "no filename, just a field")], ["attachment"]),
    (("x.png", PNG, "image/png"), [("attachment_base64", base64.b64encode(PNG).decode()),
                                   ("attachment_type", "image/png")], ["attachment_base64"]),
], ids=["text-type", "empty", "octet-stream", "plain-field", "both-kinds"])
def test_attachment_refused(srv, att, extra, bad):
    assert_error_shape(send_multipart(srv, multipart_with(att, extra)), bad)
    assert srv.messages() == []


def test_attachment_without_filename_refused(srv):
    boundary = "bNdRy"
    body = ("--%s\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n%s\r\n"
            "--%s\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\n%s\r\n"
            "--%s\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n"
            "--%s\r\nContent-Disposition: form-data; name=\"attachment\"\r\n"
            "Content-Type: image/png\r\n\r\n" % (boundary, TOKEN, boundary, USER, boundary,
                                                  boundary)).encode() + PNG
    body += ("\r\n--%s--\r\n" % boundary).encode()
    r = call(srv, "POST", "/1/messages.json", body,
             ctype="multipart/form-data; boundary=" + boundary)
    p = assert_error_shape(r, ["attachment"])
    assert "filename" in p["errors"][0]


def _b64_form(n_bytes):
    data = (JPEG * (n_bytes // len(JPEG) + 1))[:n_bytes]
    b64 = base64.b64encode(data)
    # percent-encode the three Base64 characters that need it, quickly (7 MB)
    b64 = b64.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")
    body = urlencode(fields(attachment_type="image/jpeg")).encode() + b"&attachment_base64=" + b64
    return data, body


def test_attachment_base64_exactly_at_limit(srv):
    data, body = _b64_form(MAX_ATTACHMENT)
    assert_ok(call(srv, "POST", "/1/messages.json", body, timeout=15))
    a = srv.messages()[0]["attachment"]
    assert (a["size"], a["content_type"], a["filename"]) == (MAX_ATTACHMENT, "image/jpeg", None)
    assert a["sha256"] == hashlib.sha256(data).hexdigest()
    assert a["stored_as"].endswith(".jpg")
    # the stored record notes the size instead of keeping the Base64 text
    assert "Base64" in srv.messages()[0]["fields"]["attachment_base64"]


def test_attachment_base64_one_byte_over_limit(srv):
    _, body = _b64_form(MAX_ATTACHMENT + 1)
    assert_error_shape(call(srv, "POST", "/1/messages.json", body, timeout=15),
                       ["attachment_base64"])
    assert srv.messages() == []


def test_two_attachments_refused(srv):
    r = send_multipart(srv, multipart_with(("a.png", PNG, "image/png"),
                                           [("attachment", ("b.png", PNG, "image/png"))]))
    p = assert_error_shape(r, ["attachment"])
    assert any("one attachment" in e for e in p["errors"])
    assert list(Path(srv.messages_dir).iterdir()) == []


def test_invalid_utf8_is_a_field_error(srv):
    body = urlencode(fields(message=None)).encode() + b"&message=caf%E9"
    p = assert_error_shape(call(srv, "POST", "/1/messages.json", body), ["message"])
    assert any("UTF-8" in e for e in p["errors"])
    parts = list(fields(title=None).items()) + [("title", b"\xff\xfe")]
    assert_error_shape(send_multipart(srv, parts), ["title"])
    assert srv.messages() == []


def test_messages_urlencoded(srv):
    p = assert_ok(send(srv, message="line one\nline two \u00e9", title="T", sound="bike"))
    assert "receipt" not in p
    (m,) = srv.messages()
    assert m["encoding"] == "form" and m["request"] == p["request"]
    assert m["fields"]["message"] == "line one\nline two \u00e9"
    assert (m["fields"]["title"], m["fields"]["sound"]) == ("T", "bike")
    assert m["attachment"] is None and m["receipt"] is None
    assert m["transport"]["http_version"] == "HTTP/1.1"


def test_messages_multipart_with_image(srv):
    p = assert_ok(send_multipart(srv, multipart_with(("cam 1.jpg", JPEG, "image/jpeg"),
                                                     [("title", "Door")])))
    (m,) = srv.messages()
    assert (m["encoding"], m["fields"]["title"], m["request"]) == ("multipart", "Door",
                                                                   p["request"])
    a = m["attachment"]
    assert (a["filename"], a["content_type"], a["size"]) == ("cam 1.jpg", "image/jpeg",
                                                             len(JPEG))
    r = call(srv, "GET", a["url"])
    assert r.status == 200 and r.body == JPEG
    assert r.header("Content-Type") == "image/jpeg"
    assert r.header("X-Content-Type-Options") == "nosniff"


def test_messages_json_body(srv):
    p = assert_ok(send_json(srv, {"token": TOKEN, "user": USER, "message": "from json",
                                  "priority": -1, "timestamp": 1700000000}))
    (m,) = srv.messages()
    assert (m["encoding"], m["fields"]["priority"], m["fields"]["timestamp"]) == (
        "json", "-1", "1700000000")
    assert m["request"] == p["request"]


def test_chunked_request_body_refused_with_411(srv):
    """No client of the API sends a chunked request body (both of the library's transports
    send Content-Length; released MicroPython firmware cannot send one): refused unread."""
    body = urlencode(fields(message="sent chunked")).encode()
    with connect(srv) as s:
        s.sendall(head("POST", "/1/messages.json", [("Content-Type", FORM),
                                                    ("Transfer-Encoding", "chunked")])
                  + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10,
                                                            body[10:]))
        r = read_reply(s)
        assert r.status == 411 and r.headers["connection"] == "close"
        assert "Content-Length" in json.loads(r.body)["errors"][0]
        assert closed(s)
    assert srv.messages() == []
    assert_ok(send(srv))


def test_validate_user(srv):
    p = assert_ok(call(srv, "POST", "/1/users/validate.json",
                       urlencode({"token": TOKEN, "user": USER})))
    assert (p["group"], p["devices"]) == (0, ["phone", "tablet", "watch"])
    assert isinstance(p["licenses"], list) and p["licenses"]
    assert_ok(call(srv, "POST", "/1/users/validate.json",
                   urlencode({"token": TOKEN, "user": USER, "device": "tablet"})))
    assert_error_shape(call(srv, "POST", "/1/users/validate.json",
                            urlencode({"token": TOKEN, "user": USER, "device": "toaster"})),
                       ["device"])
    assert_error_shape(call(srv, "POST", "/1/users/validate.json",
                            urlencode({"token": TOKEN, "user": USER[:20]})), ["user"])
    assert_error_shape(call(srv, "POST", "/1/users/validate.json",
                            urlencode({"token": TOKEN, "user": USER + "," + USER2})), ["user"])
    assert_error_shape(call(srv, "POST", "/1/users/validate.json",
                            urlencode({"user": USER})), ["token"])


def test_sounds(srv):
    p = assert_ok(call(srv, "GET", "/1/sounds.json?token=" + TOKEN))
    assert len(p["sounds"]) == 23
    assert {"pushover", "bike", "siren", "vibrate", "none", "persistent"} <= set(p["sounds"])
    assert all(isinstance(v, str) and v for v in p["sounds"].values())
    assert_error_shape(call(srv, "GET", "/1/sounds.json"), ["token"])
    assert call(srv, "POST", "/1/sounds.json", b"").status == 405


def test_limits(tmp_path):
    clock = FakeTime(1_733_000_000)  # 2024-11-30 UTC
    with make_server(tmp_path, quota=7, clock=clock.clock) as srv:
        p = assert_ok(call(srv, "GET", "/1/apps/limits.json?token=" + TOKEN))
        assert (p["limit"], p["remaining"], p["reset"]) == (7, 7, 1_733_011_200)  # 2024-12-01
        assert_ok(send(srv))
        assert call(srv, "GET", "/1/apps/limits.json?token=" + TOKEN).json["remaining"] == 6
        assert_error_shape(call(srv, "GET", "/1/apps/limits.json?token=x"), ["token"])


def test_glances(srv):
    base = {"token": TOKEN, "user": USER}
    g = call(srv, "POST", "/1/glances.json", urlencode(dict(base, title="T" * 100, count="-3",
                                                             percent="100")))
    p = assert_ok(g)
    (stored,) = srv.glances()
    assert stored["request"] == p["request"]
    assert (stored["fields"]["count"], stored["fields"]["percent"]) == ("-3", "100")
    assert_ok(call(srv, "POST", "/1/glances.json", urlencode(dict(base, percent="0"))))
    assert_ok(call(srv, "POST", "/1/glances.json", urlencode(dict(base, subtext=E * 100))))
    for over, bad in [({"title": "T" * 101}, ["title"]), ({"text": E * 101}, ["text"]),
                      ({"subtext": "s" * 101}, ["subtext"]), ({"percent": "101"}, ["percent"]),
                      ({"percent": "-1"}, ["percent"]), ({"count": "1.5"}, ["count"]),
                      ({}, ["glance"]), ({"title": ""}, ["glance"]),
                      ({"title": "x", "device": "bad device"}, ["device"]),
                      ({"title": "x", "user": USER + "," + USER2}, ["user"])]:
        assert_error_shape(call(srv, "POST", "/1/glances.json",
                                urlencode(dict(base, **over))), bad)
    assert len(srv.glances()) == 3
    r = call(srv, "GET", "/glances.json")
    assert r.status == 200 and len(r.json) == 3 and r.json[0]["fields"]["subtext"] == E * 100


def test_unknown_api_path_and_method(srv):
    r = call(srv, "GET", "/1/nothing.json")
    assert r.status == 404 and r.json["status"] == 0
    r = call(srv, "GET", "/1/messages.json")
    assert r.status == 405 and r.header("Allow") == "POST"


def test_quota_headers_remaining_and_429(tmp_path):
    with make_server(tmp_path, quota=3) as srv:
        seen = []
        for _ in range(3):
            r = send(srv)
            assert_ok(r)
            assert r.header("X-Limit-App-Limit") == "3"
            assert int(r.header("X-Limit-App-Reset")) > time.time()
            seen.append(int(r.header("X-Limit-App-Remaining")))
        assert seen == [2, 1, 0]
        r = send(srv)
        assert r.status == 429 and r.json["status"] == 0 and r.json["errors"]
        assert r.header("X-Limit-App-Remaining") == "0"
        assert len(srv.messages()) == 3
        # input errors are still reported as such (400 wins over 429), with the headers
        r = send(srv, message="")
        assert r.status == 400 and r.header("X-Limit-App-Remaining") == "0"
        r = send_multipart(srv, multipart_with(("a.png", PNG, "image/png")))
        assert r.status == 429 and r.header("X-Limit-App-Limit") == "3"
        assert list(Path(srv.messages_dir).glob("*-attachment*")) == []
        assert call(srv, "GET", "/1/apps/limits.json?token=" + TOKEN).json["remaining"] == 0


def test_restricted_tokens_and_users(tmp_path):
    with make_server(tmp_path, tokens=[TOKEN], users=[USER]) as srv:
        assert_ok(send(srv))
        p = assert_error_shape(send(srv, token=OTHER_TOKEN), ["token"])
        assert p["errors"] == ["application token is invalid"]
        assert_error_shape(send(srv, token=TOKEN.lower()), ["token"])  # case-sensitive
        assert_error_shape(send(srv, user=USER2), ["user"])
        assert_error_shape(send(srv, user=USER + "," + USER2), ["user"])
        for path in ("/1/sounds.json", "/1/apps/limits.json", "/1/receipts/%s.json" % ("R" * 30)):
            assert_error_shape(call(srv, "GET", path + "?token=" + OTHER_TOKEN), ["token"])
        assert_error_shape(call(srv, "POST", "/1/users/validate.json",
                                urlencode({"token": TOKEN, "user": USER2})), ["user"])
        assert_error_shape(call(srv, "POST", "/1/glances.json",
                                urlencode({"token": OTHER_TOKEN, "user": USER, "text": "x"})),
                           ["token"])
        assert len(srv.messages()) == 1


def test_oversized_multipart_refused_without_reading_it(srv):
    with connect(srv) as s:
        s.sendall(head("POST", "/1/messages.json", [
            ("Content-Type", "multipart/form-data; boundary=xyz"),
            ("Content-Length", str(200 * 1024 * 1024))]) + b"--xyz\r\n" + b"a" * 4000)
        t0 = time.monotonic()
        r = read_reply(s)
        elapsed = time.monotonic() - t0
        assert r.status == 413, r.body
        assert elapsed < 1.0, elapsed  # far below the socket timeout (3 s) a full read would wait
        assert "too large" in json.loads(r.body)["errors"][0]
        assert r.headers["connection"] == "close"
        assert r.headers["x-limit-app-remaining"].isdigit()
        assert closed(s)
    assert_ok(send(srv))  # still serving


def test_oversized_body_written_in_full_still_gets_its_413(srv):
    """A client that writes the whole too-large body before reading (as urequests does): the
    server answers 413 at once and closes, so the client's write may fail (broken pipe or
    reset), but the 413 reply is still there to read."""
    data = b"\x89PNG" + b"\0" * (pushover_server.MAX_BODY + 1024)
    body, ctype = encode_multipart_formdata(multipart_with(("big.png", data, "image/png")))
    with connect(srv) as s:
        t0 = time.monotonic()
        try:
            s.sendall(raw_post("/1/messages.json", body, ctype=ctype))
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = read_reply(s)
        assert r.status == 413 and time.monotonic() - t0 < 2
    assert srv.messages() == [] and list(Path(srv.messages_dir).iterdir()) == []
    assert_ok(send(srv))


@pytest.mark.parametrize("ctype,size,path", [
    ("multipart/form-data; boundary=xyz", pushover_server.MAX_BODY + 1, "/1/messages.json"),
    (FORM, pushover_server.MAX_TEXT_BODY + 1, "/1/messages.json"),
    ("application/json", pushover_server.MAX_TEXT_BODY + 1, "/1/messages.json"),
    (FORM, 64 * 1024 + 1, "/1/glances.json"),
], ids=["multipart", "form", "json", "glances"])
def test_body_one_byte_over_cap_refused_early(srv, ctype, size, path):
    with connect(srv) as s:
        s.sendall(head("POST", path, [("Content-Type", ctype), ("Content-Length", str(size))]))
        r = read_reply(s)
    assert r.status == 413


def test_expect_100_continue(srv):
    body = urlencode(fields(message="after continue")).encode()
    with connect(srv) as s:
        s.sendall(head("POST", "/1/messages.json", [
            ("Content-Type", FORM), ("Content-Length", str(len(body))),
            ("Expect", "100-continue")]))
        assert read_reply(s).status == 100
        s.sendall(body)
        assert read_reply(s).status == 200
    with connect(srv) as s:
        s.sendall(head("POST", "/1/messages.json", [
            ("Content-Type", "multipart/form-data; boundary=b"),
            ("Content-Length", str(50 * 1024 * 1024)), ("Expect", "100-continue")]))
        assert read_reply(s).status == 413  # refused before the body, no 100 first
    assert srv.messages()[0]["fields"]["message"] == "after continue"


@pytest.mark.parametrize("kind", ["form", "multipart"])
def test_truncated_body_then_next_request(srv, kind):
    if kind == "form":
        body, ctype = urlencode(fields(message="x" * 900)).encode(), FORM
    else:
        body, ctype = encode_multipart_formdata(multipart_with(("a.png", PNG, "image/png")))
    with connect(srv) as s:
        s.sendall(head("POST", "/1/messages.json", [("Content-Type", ctype),
                                                    ("Content-Length", str(len(body) + 500))])
                  + body)
        s.shutdown(socket.SHUT_WR)  # the client gives up: the body ends early
        r = read_reply(s)
    assert r.status == 400 and "incomplete" in json.loads(r.body)["errors"][0]
    assert srv.messages() == []
    assert list(Path(srv.messages_dir).iterdir()) == []  # no partial upload left behind
    assert_ok(send(srv))


def test_stalled_body_times_out(tmp_path):
    with make_server(tmp_path, socket_timeout=0.4) as srv, connect(srv) as s:
        s.sendall(head("POST", "/1/messages.json", [("Content-Type", FORM),
                                                    ("Content-Length", "1000")]) + b"token=")
        t0 = time.monotonic()
        r = read_reply(s)
        assert r.status == 408 and 0.3 < time.monotonic() - t0 < 2
        assert_ok(send(srv))


MALFORMED = [
    ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--"),
    ("multipart/form-data; boundary=x", b"this is not a multipart body at all"),
    ("multipart/form-data; boundary=x",
     b"--x\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nno closing boundary"),
    ("multipart/form-data; boundary=x", b"--x\r\nthis header has no colon\r\n\r\nv\r\n--x--\r\n"),
    ("application/json", b"{not json"),
    ("application/json", b"[1, 2]"),
]


@pytest.mark.parametrize("ctype,body", MALFORMED,
                         ids=["no-boundary", "garbage", "unclosed", "bad-part-header",
                              "json-syntax", "json-array"])
def test_malformed_body_400_then_serving(srv, ctype, body):
    r = call(srv, "POST", "/1/messages.json", body, ctype=ctype)
    assert r.status == 400 and r.json["status"] == 0 and r.json["errors"]
    assert srv.messages() == []
    assert_ok(send(srv))


def test_other_body_errors(srv):
    assert call(srv, "POST", "/1/messages.json", b"x", ctype="text/plain").status == 415
    with connect(srv) as s:  # POST without Content-Length
        s.sendall(head("POST", "/1/messages.json", [("Content-Type", FORM)]))
        assert read_reply(s).status == 411
    with connect(srv) as s:  # two different lengths
        s.sendall(head("POST", "/1/messages.json", [("Content-Type", FORM),
                                                    ("Content-Length", "5"),
                                                    ("Content-Length", "6")]) + b"abcdef")
        assert read_reply(s).status == 400
    with connect(srv) as s:  # a chunked body, even a broken one: refused unread
        s.sendall(head("POST", "/1/messages.json", [("Content-Type", FORM),
                                                    ("Transfer-Encoding", "chunked")])
                  + b"zz\r\nabc\r\n0\r\n\r\n")
        assert read_reply(s).status == 411
    with connect(srv) as s:  # another transfer coding
        s.sendall(head("POST", "/1/messages.json", [("Content-Type", FORM),
                                                    ("Transfer-Encoding", "gzip")]))
        assert read_reply(s).status == 501
    with connect(srv) as s:
        s.sendall(b"NOT A REQUEST\r\n\r\n")
        assert read_reply(s).status == 400
    assert_ok(send(srv))


def test_keys_never_stored_shown_or_logged_in_full(tmp_path, capfd):
    data = tmp_path / "data"
    log = io.StringIO()
    with make_server(data, log=log, tokens=[TOKEN, OTHER_TOKEN], users=[USER, USER2]) as srv:
        both = USER + "," + USER2
        assert_ok(send(srv, user=both))
        assert_ok(send_multipart(srv, multipart_with(("k.png", PNG, "image/png"))))
        assert_ok(send_json(srv, fields(message="json")))
        assert_ok(send(srv, attachment_type="image/png",
                       attachment_base64=base64.b64encode(PNG).decode()))
        r1 = emergency(srv, tags="t1", callback="https://example.invalid/")
        r2 = emergency(srv, tags="t2", user=both)
        r3 = emergency(srv, token=OTHER_TOKEN)
        poll(srv, r1)
        srv.acknowledge(r1)
        call(srv, "POST", "/_control/ack/" + r3, json.dumps({"user": USER2}),
             ctype="application/json")
        call(srv, "POST", "/1/receipts/%s/cancel.json" % r2, urlencode({"token": TOKEN}))
        call(srv, "POST", "/1/receipts/cancel_by_tag/t1.json?token=" + TOKEN, b"")
        call(srv, "POST", "/1/users/validate.json", urlencode({"token": TOKEN, "user": USER}))
        call(srv, "GET", "/1/sounds.json?token=%s&user=%s" % (TOKEN, USER))
        call(srv, "GET", "/1/apps/limits.json?token=" + TOKEN)
        call(srv, "POST", "/1/glances.json", urlencode({"token": TOKEN, "user": USER, "text": "g"}))
        send(srv, message="")  # refused: bad input
        send(srv, token="srvRefusedTokenZ9x8c7v6b5n4m3l")  # refused: unknown key
        for mode in FAULT_MODES:
            if mode != "slow":
                try:
                    send(srv, path="/fault/%s/1/messages.json" % mode, message=mode)
                except (OSError, http.client.HTTPException):
                    pass
        seen = [call(srv, "GET", p).body.decode() for p in ("/", "/inbox.json", "/glances.json")]
        records = json.dumps(srv.requests())
        assert len(srv.messages()) >= 10
    with make_server(data, log=log) as again:  # after a restart, from the files
        seen += [call(again, "GET", p).body.decode() for p in ("/", "/inbox.json")]
        seen.append(json.dumps(again.messages()))
        seen.append(json.dumps(poll(again, r1).json))
    files = [p for p in data.rglob("*") if p.is_file()]
    assert len(files) >= 10
    stored = b"".join(p.read_bytes() for p in files).decode("utf-8", "replace")
    out = capfd.readouterr()
    assert TOKEN[:4] + "\u2026" in stored  # masked, not dropped
    assert "token=srvT\u2026" in log.getvalue()
    for name, text in [("data folder", stored), ("pages", "\n".join(seen)),
                       ("request records", records), ("log", log.getvalue()),
                       ("stdout/stderr", out.out + out.err)]:
        assert find_leak(text, KEYS + ("srvRefusedTokenZ9x8c7v6b5n4m3l",)) is None, name


STORED = {"slow", "chunked", "keepalive", "invalid_json", "oversized"}


BODY = urlencode(fields(message="fault test " + "p" * 1000, title="t" * 200)).encode()


def fault_path(how, mode, srv):
    if how == "per-run":
        srv.set_fault(mode, 1)
        assert srv.fault_state() == (mode, 1)
        return "/1/messages.json"
    return "/fault/%s/1/messages.json" % mode


@pytest.mark.parametrize("how", ["per-run", "per-request"])
@pytest.mark.parametrize("mode", FAULT_MODES)
def test_fault_mode(tmp_path, mode, how):
    with make_server(tmp_path, slow_seconds=0.6, quota=100) as srv:
        path = fault_path(how, mode, srv)
        with connect(srv) as s:
            t0 = time.monotonic()
            if mode == "drop_mid_body":
                # the server reads part of the body and closes: the rest is never asked for
                s.sendall(raw_post(path, BODY)[:-len(BODY) // 3])
                assert closed_without_reply(s)
            elif mode == "no_reply":
                s.sendall(raw_post(path, BODY))
                assert closed_without_reply(s)
            elif mode == "slow":
                s.sendall(raw_post(path, BODY))
                s.settimeout(0.2)  # a short client timeout: no reply in time
                with pytest.raises(TimeoutError):
                    s.recv(1)
                s.settimeout(3)
                r = read_reply(s)  # the reply comes after slow_seconds
                assert r.status == 200 and time.monotonic() - t0 >= 0.55
                assert json.loads(r.body)["status"] == 1
            elif mode == "keepalive":
                s.sendall(raw_post(path, BODY, version="HTTP/1.0",
                                   extra=[("Connection", "close")]))
                r = read_reply(s)
                assert r.status == 200 and json.loads(r.body)["status"] == 1
                assert r.headers["connection"].lower() == "keep-alive"
                assert int(r.headers["content-length"]) == len(r.body)
                # the same connection serves the next request
                s.sendall(raw_post("/1/messages.json", BODY))
                assert read_reply(s).status == 200
                recs = api_records(srv, 2)
                assert [x["connection"] for x in recs] == [recs[0]["connection"]] * 2
                assert [x["on_connection"] for x in recs] == [1, 2]
            else:
                s.sendall(raw_post(path, BODY))
                r = read_reply(s)
                body = r.body
                if mode == "500":
                    assert r.status == 500 and r.headers["content-type"].startswith("text/html")
                    assert b"500" in body
                elif mode == "503":
                    assert r.status == 503 and r.headers["retry-after"] == "5"
                    assert json.loads(body)["status"] == 0
                elif mode == "429":
                    assert r.status == 429 and r.headers["x-limit-app-remaining"] == "0"
                    assert json.loads(body)["errors"] == ["quota exceeded"]
                elif mode == "chunked":
                    assert r.status == 200 and "content-length" not in r.headers
                    assert len(r.chunks) >= 2 and sum(r.chunks) == len(body)
                    assert json.loads(body)["status"] == 1
                elif mode == "invalid_json":
                    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
                    with pytest.raises(ValueError):
                        json.loads(body)
                elif mode == "oversized":
                    assert r.status == 200 and len(body) == 1024 * 1024
                    assert int(r.headers["content-length"]) == 1024 * 1024
                    assert json.loads(body)["status"] == 1
                else:
                    raise AssertionError(mode)
        stored = 1 if mode == "keepalive" else 0
        assert len(srv.messages()) == stored + (1 if mode in STORED else 0)
        # limits: a refused fault request did not use quota
        remaining = call(srv, "GET", "/1/apps/limits.json?token=" + TOKEN).json["remaining"]
        assert remaining == 100 - len(srv.messages())
        if how == "per-run":
            assert srv.fault_state() == (None, 0)
        # and the server keeps serving
        r = send(srv, message="after " + mode)
        assert_ok(r)
        assert srv.messages()[0]["fields"]["message"] == "after " + mode
        recs = api_records(srv, 3 if mode == "keepalive" else 2)
        assert recs[0]["fault"] == mode
        assert recs[0]["status"] == {"drop_mid_body": None, "no_reply": None, "500": 500,
                                     "503": 503, "429": 429}.get(mode, 200)


def test_slow_client_timeout_and_serving_meanwhile(tmp_path):
    with make_server(tmp_path, slow_seconds=1.5) as srv:
        srv.set_fault("slow", 1)
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=0.3)
        conn.request("POST", "/1/messages.json", BODY, {"Content-Type": FORM})
        with pytest.raises(TimeoutError):
            conn.getresponse()
        conn.close()
        assert len(srv.messages()) == 1  # stored although the client saw no reply
        t0 = time.monotonic()
        assert_ok(send(srv))  # another connection is served while the slow one waits
        assert time.monotonic() - t0 < 1.2  # not behind the slow reply (1.5 s)


def test_fault_counts_and_controls(srv):
    srv.set_fault("503", 2)
    assert [send(srv).status for _ in range(3)] == [503, 503, 200]
    srv.set_fault("500", None)  # until cleared
    assert [send(srv).status for _ in range(3)] == [500, 500, 500]
    # site pages are not affected; a per-request fault does not use up the run's fault
    assert call(srv, "GET", "/inbox.json").status == 200
    srv.set_fault("429", 1)
    assert send(srv, path="/fault/503/1/messages.json").status == 503
    assert send(srv).status == 429
    assert send(srv).status == 200
    srv.set_fault(None)
    assert srv.fault_state() == (None, 0)
    with pytest.raises(ValueError):
        srv.set_fault("explode")
    r = send(srv, path="/fault/explode/1/messages.json")
    assert r.status == 404 and "explode" in r.json["errors"][0]
    # per-request faults on other endpoints
    assert call(srv, "GET", "/fault/503/1/sounds.json?token=" + TOKEN).status == 503
    r = call(srv, "GET", "/fault/chunked/1/sounds.json?token=" + TOKEN)
    assert r.status == 200 and r.header("Transfer-Encoding") == "chunked"
    assert len(r.json["sounds"]) == 23
    # the control endpoint
    r = call(srv, "POST", "/_control/fault", json.dumps({"mode": "503", "count": 1}),
             ctype="application/json")
    assert (r.status, r.json["mode"], r.json["count"]) == (200, "503", 1)
    assert call(srv, "GET", "/_control/fault").json["mode"] == "503"
    assert send(srv).status == 503
    assert call(srv, "GET", "/_control/fault").json["mode"] is None
    assert call(srv, "POST", "/_control/fault", json.dumps({"mode": "nope"}),
                ctype="application/json").status == 400


def test_http_client_sees_each_fault(srv):
    """What a plain http.client user observes, mode by mode, on one server."""
    def attempt(mode):
        try:
            r = send(srv, path="/fault/%s/1/messages.json" % mode)
            return r.status
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            return "closed"
    got = {m: attempt(m) for m in FAULT_MODES if m != "slow"}
    assert got == {"drop_mid_body": "closed", "500": 500, "503": 503, "429": 429,
                   "chunked": 200, "keepalive": 200, "invalid_json": 200, "oversized": 200,
                   "no_reply": "closed"}
    assert len(srv.messages()) == 4


def test_keepalive_reuse_with_http_client(srv):
    """Without a fault an HTTP/1.1 client keeps its connection too: many requests, one socket."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=3)
    try:
        for i in range(3):
            conn.request("POST", "/1/messages.json", urlencode(fields(message="k%d" % i)),
                         {"Content-Type": FORM})
            r = conn.getresponse()
            assert r.status == 200 and r.getheader("Connection") == "keep-alive"
            r.read()
    finally:
        conn.close()
    recs = api_records(srv, 3)
    assert len({x["connection"] for x in recs}) == 1
    assert [x["on_connection"] for x in recs] == [1, 2, 3]
    # an HTTP/1.0 client (as released MicroPython firmware) gets Connection: close
    with connect(srv) as s:
        s.sendall(raw_post("/1/messages.json", BODY, version="HTTP/1.0"))
        r = read_reply(s)
        assert r.status == 200 and r.headers["connection"] == "close"
        assert closed(s)


def test_constructor_fault_applies_until_cleared(tmp_path):
    with make_server(tmp_path, fault="503") as srv:
        assert srv.fault_state() == ("503", None)
        assert [send(srv).status for _ in range(3)] == [503, 503, 503]
        srv.set_fault(None)
        assert_ok(send(srv))


def test_stats_and_request_records(srv):
    assert_ok(send(srv))
    call(srv, "GET", "/1/sounds.json?token=" + TOKEN)
    recs = api_records(srv, 2)
    assert [(x["method"], x["status"], x["version"]) for x in recs] == [
        ("POST", 200, "HTTP/1.1"), ("GET", 200, "HTTP/1.1")]
    assert "token=srvT\u2026" in recs[1]["path"]
    st = srv.stats()
    assert st["messages"] == 1 and st["connections"] >= 2 and st["internal_errors"] == 0


def test_head_and_server_header(srv):
    assert_ok(send(srv))
    get = call(srv, "GET", "/")
    with connect(srv) as s:
        s.sendall(head("HEAD", "/", [("Connection", "close")]))
        s.settimeout(3)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert status_line.startswith(b"HTTP/1.1 200")
    assert b"Content-Length: %d\r\n" % len(get.body) in headers + b"\r\n"
    assert body == b""
    assert get.header("Server") == "pushover-local/1.0"  # no trailing space
