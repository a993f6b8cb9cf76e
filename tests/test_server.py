"""The local Pushover server's own tests (tools/pushover_server.py), independent of the library.

The server is talked to with http.client, raw sockets and urllib only; bodies are built with
urllib.parse.urlencode, urllib3.encode_multipart_formdata or json. Every server listens on
127.0.0.1 (one CLI test binds 0.0.0.0 on port 0 for a fraction of a second and is never
contacted), stops by itself after `max_seconds`, and every test has a time bound.
"""

import base64
import hashlib
import http.client
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from urllib3 import encode_multipart_formdata

import pushover_server
from live import time_limit
from pushover_server import FAULT_MODES, MAX_ATTACHMENT, PushoverServer

ROOT = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = ROOT / "tools" / "pushover_server.py"

# Made-up keys of the right shape (30 characters of A-Z a-z 0-9), distinctive enough to grep for.
TOKEN = "srvTestTokenA1b2C3d4E5f6G7h8J9"
USER = "srvTestUserKey9Z8y7X6w5V4u3T2s"
OTHER_TOKEN = "srvOtherTokenQ1w2E3r4T5y6U7i8O"
USER2 = "srvSecondUserM1n2B3v4C5x6Z7l8K"
KEYS = (TOKEN, USER, OTHER_TOKEN, USER2)
assert all(len(k) == 30 and k.isalnum() and k.isascii() for k in KEYS)

FORM = "application/x-www-form-urlencoded"
PNG = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(b"png").digest() * 64  # 2 KiB, fake but typed
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + hashlib.sha256(b"jpeg").digest() * 32
LIMIT_HEADERS = ("X-Limit-App-Limit", "X-Limit-App-Remaining", "X-Limit-App-Reset")
SERVER_SECONDS = 30  # no server outlives this
CLIENT_TIMEOUT = 5


@pytest.fixture(autouse=True)
def _time_bound():
    """A hang becomes a failure (SIGALRM interrupts blocking socket calls)."""
    with time_limit(20):
        yield


def make_server(data_dir, **kw):
    kw.setdefault("max_seconds", SERVER_SECONDS)
    kw.setdefault("slow_seconds", 0.5)
    kw.setdefault("socket_timeout", 3)
    return PushoverServer(host="127.0.0.1", port=0, data_dir=str(data_dir), **kw)


@pytest.fixture
def srv(tmp_path):
    with make_server(tmp_path / "data") as s:
        yield s
        assert s.stats()["internal_errors"] == 0  # no request hit a bug in the server


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the many field-rule cases (they only add messages)."""
    s = make_server(tmp_path_factory.mktemp("shared"), max_seconds=120)
    s.start()
    try:
        yield s
        assert s.stats()["internal_errors"] == 0
    finally:
        s.stop()


class Clock:
    """A settable clock for the server (receipt expiry, quota reset)."""

    def __init__(self, t):
        self.t = float(t)

    def __call__(self):
        return self.t


# --------------------------------------------------------------------------- client helpers

class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)


def call(srv, method, path, body=None, ctype=FORM, headers=None, timeout=CLIENT_TIMEOUT):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        h = dict(headers or {})
        if body is not None:
            if isinstance(body, str):
                body = body.encode()
            h.setdefault("Content-Type", ctype)
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        return Resp(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def fields(**over):
    f = {"token": TOKEN, "user": USER, "message": "hello"}
    for k, v in over.items():
        if v is None:
            f.pop(k, None)
        else:
            f[k] = v
    return f


def send(srv, path="/1/messages.json", **over):
    return call(srv, "POST", path, urlencode(fields(**over)))


def send_multipart(srv, parts, path="/1/messages.json"):
    body, ctype = encode_multipart_formdata(parts)
    return call(srv, "POST", path, body, ctype=ctype)


def send_json(srv, data, path="/1/messages.json"):
    return call(srv, "POST", path, json.dumps(data), ctype="application/json")


def bad_keys(payload):
    return set(payload) - {"errors", "status", "request"}


def assert_error_shape(r, keys, status=400):
    assert r.status == status, r.body
    p = r.json
    assert p["status"] == 0
    assert isinstance(p["errors"], list) and p["errors"]
    assert all(isinstance(e, str) and e for e in p["errors"])
    assert bad_keys(p) == set(keys)
    assert all(p[k] == "invalid" for k in keys)
    uuid.UUID(p["request"])
    return p


def assert_ok(r):
    assert r.status == 200, r.body
    p = r.json
    assert p["status"] == 1
    uuid.UUID(p["request"])
    return p


# ---- raw sockets

def connect(srv, timeout=3):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


def head(method, path, headers=(), version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: 127.0.0.1"]
    lines += ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def raw_post(path, body, ctype=FORM, version="HTTP/1.1", extra=()):
    return head("POST", path, [("Content-Type", ctype), ("Content-Length", str(len(body)))]
                + list(extra), version) + body


class RawReply:
    def __init__(self, status, headers, body, chunks):
        self.status, self.headers, self.body, self.chunks = status, headers, body, chunks


def _recv_more(sock, buf):
    data = sock.recv(65536)
    if not data:
        raise EOFError("connection closed after %d bytes" % len(buf))
    buf += data


def read_reply(sock):
    """One HTTP reply from a raw socket: status, lower-case headers, body, and the chunk sizes
    when it came chunked (None otherwise). EOFError: closed before a whole reply."""
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        _recv_more(sock, buf)
    end = buf.index(b"\r\n\r\n")
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[:end + 4]
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    chunks = None
    if status == 100:
        body = b""
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks, body = [], bytearray()
        while True:
            while b"\r\n" not in buf:
                _recv_more(sock, buf)
            i = buf.index(b"\r\n")
            size = int(bytes(buf[:i]), 16)
            del buf[:i + 2]
            while len(buf) < size + 2:
                _recv_more(sock, buf)
            assert buf[size:size + 2] == b"\r\n"
            if size == 0:
                del buf[:2]
                break
            chunks.append(size)
            body += buf[:size]
            del buf[:size + 2]
        body = bytes(body)
    else:
        n = int(headers["content-length"])
        while len(buf) < n:
            _recv_more(sock, buf)
        body = bytes(buf[:n])
        del buf[:n]
    assert not buf, "bytes after the reply: %r" % bytes(buf[:80])
    return RawReply(status, headers, body, chunks)


def closed_without_reply(sock, wait=3.0):
    """True when the peer closes (FIN or reset) without sending a byte within `wait` s."""
    sock.settimeout(wait)
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return data == b""


def closed(sock, wait=2.0):
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def api_records(srv, at_least, wait=2.0):
    """The server records a request just after writing its reply: wait for it."""
    deadline = time.monotonic() + wait
    while True:
        recs = [r for r in srv.requests() if "/1/" in r["path"]]
        if len(recs) >= at_least or time.monotonic() > deadline:
            return recs
        time.sleep(0.02)


# --------------------------------------------------------------------------- SPEC section 1

E = "\u20ac"  # one character, three bytes in UTF-8
SMILE = "\U0001F600"  # one character (code point), four bytes
LIST50 = ",".join(("srvListUser%04d" % i).ljust(30, "x") for i in range(50))
LIST51 = LIST50 + "," + "srvListUser0050".ljust(30, "x")

FIELD_CASES = [
    # message: required, <= 1024 characters, not blank, newlines allowed
    ("message-1024-chars-3-byte", {"message": E * 1024}, ()),
    ("message-1025-chars", {"message": E * 1025}, ("message",)),
    ("message-1024-emoji", {"message": SMILE * 1024}, ()),
    ("message-1025-emoji", {"message": SMILE * 1025}, ("message",)),
    ("message-1024-ascii", {"message": "m" * 1024}, ()),
    ("message-blank", {"message": " \r\n\t "}, ("message",)),
    ("message-empty", {"message": ""}, ("message",)),
    ("message-missing", {"message": None}, ("message",)),
    ("message-newlines", {"message": "line 1\nline 2\r\nline 3"}, ()),
    # title, url, url_title
    ("title-250", {"title": E * 250}, ()),
    ("title-251", {"title": E * 251}, ("title",)),
    ("title-empty-is-absent", {"title": ""}, ()),
    ("url-512", {"url": "myapp://" + "u" * 504}, ()),
    ("url-513", {"url": "myapp://" + "u" * 505}, ("url",)),
    ("url_title-100", {"url": "https://example.invalid/", "url_title": E * 100}, ()),
    ("url_title-101", {"url": "https://example.invalid/", "url_title": E * 101}, ("url_title",)),
    # token and user formats
    ("token-30", {"token": "A" * 29 + "z"}, ()),
    ("token-29", {"token": TOKEN[:29]}, ("token",)),
    ("token-31", {"token": TOKEN + "a"}, ("token",)),
    ("token-dash", {"token": TOKEN[:29] + "-"}, ("token",)),
    ("token-non-ascii-letter", {"token": TOKEN[:29] + "\u00e9"}, ("token",)),
    ("token-missing", {"token": None}, ("token",)),
    ("user-29", {"user": USER[:29]}, ("user",)),
    ("user-31", {"user": USER + "b"}, ("user",)),
    ("user-underscore", {"user": USER[:29] + "_"}, ("user",)),
    ("user-missing", {"user": None}, ("user",)),
    ("users-2", {"user": USER + "," + USER2}, ()),
    ("users-50", {"user": LIST50}, ()),
    ("users-51", {"user": LIST51}, ("user",)),
    ("users-trailing-comma", {"user": USER + ","}, ("user",)),
    ("users-one-bad", {"user": USER + "," + USER2[:29]}, ("user",)),
    # device names
    ("device-25", {"device": "d" * 25}, ()),
    ("device-26", {"device": "d" * 26}, ("device",)),
    ("device-charset", {"device": "My_Phone-2"}, ()),
    ("device-list", {"device": "phone,tablet,d" + "x" * 24}, ()),
    ("device-list-26", {"device": "phone," + "x" * 26}, ("device",)),
    ("device-space", {"device": "my phone"}, ("device",)),
    ("device-dot", {"device": "phone.1"}, ("device",)),
    ("device-empty-item", {"device": "phone,"}, ("device",)),
    # priority range
    ("priority--2", {"priority": "-2"}, ()),
    ("priority--1", {"priority": "-1"}, ()),
    ("priority-0", {"priority": "0"}, ()),
    ("priority-1", {"priority": "1"}, ()),
    ("priority--3", {"priority": "-3"}, ("priority",)),
    ("priority-3", {"priority": "3"}, ("priority",)),
    ("priority-word", {"priority": "high"}, ("priority",)),
    ("priority-float", {"priority": "1.0"}, ("priority",)),
    # emergency: retry >= 30, expire <= 10800 (and positive), both required
    ("emergency-limits", {"priority": "2", "retry": "30", "expire": "10800"}, ()),
    ("emergency-retry-29", {"priority": "2", "retry": "29", "expire": "60"}, ("retry",)),
    ("emergency-expire-10801", {"priority": "2", "retry": "30", "expire": "10801"},
     ("expire",)),
    ("emergency-expire-0", {"priority": "2", "retry": "30", "expire": "0"}, ("expire",)),
    ("emergency-no-retry", {"priority": "2", "expire": "60"}, ("retry",)),
    ("emergency-no-expire", {"priority": "2", "retry": "60"}, ("expire",)),
    ("emergency-neither", {"priority": "2"}, ("retry", "expire")),
    ("retry-ignored-below-2", {"priority": "1", "retry": "5", "expire": "99999"}, ()),
    ("emergency-ttl-ignored", {"priority": "2", "retry": "30", "expire": "60", "ttl": "0"},
     ()),
    # html / monospace
    ("html-1", {"html": "1"}, ()),
    ("monospace-1", {"monospace": "1"}, ()),
    ("html-1-monospace-0", {"html": "1", "monospace": "0"}, ()),
    ("html-and-monospace", {"html": "1", "monospace": "1"}, ("html", "monospace")),
    ("html-2", {"html": "2"}, ("html",)),
    # ttl
    ("ttl-1", {"ttl": "1"}, ()),
    ("ttl-big", {"ttl": "31536000"}, ()),
    ("ttl-0", {"ttl": "0"}, ("ttl",)),
    ("ttl-negative", {"ttl": "-1"}, ("ttl",)),
    ("ttl-unit", {"ttl": "60s"}, ("ttl",)),
    # timestamp
    ("timestamp-0", {"timestamp": "0"}, ()),
    ("timestamp-now", {"timestamp": "1700000000"}, ()),
    ("timestamp-negative", {"timestamp": "-1"}, ("timestamp",)),
    ("timestamp-fraction", {"timestamp": "1700000000.5"}, ("timestamp",)),
    # sounds: a custom name is not an error
    ("sound-builtin", {"sound": "siren"}, ()),
    ("sound-custom", {"sound": "my_custom_sound"}, ()),
    # attachment_base64 needs attachment_type
    ("base64-with-type", {"attachment_base64": base64.b64encode(PNG).decode(),
                          "attachment_type": "image/png"}, ()),
    ("base64-without-type", {"attachment_base64": base64.b64encode(PNG).decode()},
     ("attachment_type",)),
    ("base64-non-image-type", {"attachment_base64": base64.b64encode(PNG).decode(),
                               "attachment_type": "text/plain"}, ("attachment_type",)),
    ("base64-invalid", {"attachment_base64": "!!!not base64!!!",
                        "attachment_type": "image/png"}, ("attachment_base64",)),
    ("base64-with-line-breaks", {"attachment_base64": base64.encodebytes(PNG).decode(),
                                 "attachment_type": "image/png"}, ()),
    ("attachment-in-form", {"attachment": "abc"}, ("attachment",)),
]


@pytest.mark.parametrize("over,bad", [c[1:] for c in FIELD_CASES],
                         ids=[c[0] for c in FIELD_CASES])
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
    over, bad = next(c[1:] for c in FIELD_CASES if c[0] == name)
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


# ---- attachments at their limit

def multipart_with(attachment, extra=()):
    return list(fields().items()) + list(extra) + ([("attachment", attachment)]
                                                   if attachment is not None else [])


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


# --------------------------------------------------------------------------- endpoints

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


def emergency(srv, tags="", token=TOKEN, **over):
    over.setdefault("retry", "30")
    over.setdefault("expire", "3600")
    r = send(srv, token=token, priority="2", tags=tags or None, **over)
    p = assert_ok(r)
    assert re.fullmatch(r"[A-Za-z0-9]{30}", p["receipt"])
    return p["receipt"]


def poll(srv, receipt, token=TOKEN):
    return call(srv, "GET", "/1/receipts/%s.json?%s" % (receipt, urlencode({"token": token})))


RECEIPT_FIELDS = {"acknowledged", "acknowledged_at", "acknowledged_by",
                  "acknowledged_by_device", "last_delivered_at", "expired", "expires_at",
                  "called_back", "called_back_at"}


def test_receipt_poll_acknowledge_from_python(tmp_path):
    clock = Clock(1_700_000_000)
    with make_server(tmp_path, clock=clock) as srv:
        receipt = emergency(srv, callback="https://example.invalid/cb", expire="600")
        state = assert_ok(poll(srv, receipt))
        assert RECEIPT_FIELDS <= set(state)
        assert (state["acknowledged"], state["expired"], state["called_back"]) == (0, 0, 0)
        assert state["expires_at"] == 1_700_000_000 + 600
        assert state["last_delivered_at"] == 1_700_000_000
        clock.t += 95  # three re-alerts at 30 s
        assert poll(srv, receipt).json["last_delivered_at"] == 1_700_000_000 + 90
        acked = srv.acknowledge(receipt, device="watch")
        assert (acked["acknowledged"], acked["acknowledged_at"]) == (1, 1_700_000_095)
        state = assert_ok(poll(srv, receipt))
        assert (state["acknowledged"], state["acknowledged_by"],
                state["acknowledged_by_device"]) == (1, USER, "watch")
        assert (state["called_back"], state["called_back_at"]) == (1, 1_700_000_095)
        clock.t += 60  # no more re-alerts after the acknowledgement
        assert poll(srv, receipt).json["last_delivered_at"] == 1_700_000_000 + 90
        assert srv.acknowledge(receipt)["acknowledged_at"] == 1_700_000_095  # twice: no change
        with pytest.raises(KeyError):
            srv.acknowledge("N" * 30)
        # acknowledging through the control endpoint, by another user
        r2 = emergency(srv)
        r = call(srv, "POST", "/_control/ack/" + r2, json.dumps({"user": USER2}),
                 ctype="application/json")
        assert r.status == 200 and r.json["acknowledged"] == 1
        assert poll(srv, r2).json["acknowledged_by"] == USER2
        assert call(srv, "POST", "/_control/ack/" + "N" * 30, b"").status == 404


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


def test_receipt_expiry_realert_cap_and_lifetime(tmp_path):
    clock = Clock(1_700_000_000)
    with make_server(tmp_path, clock=clock) as srv:
        receipt = emergency(srv, retry="30", expire="10800")
        clock.t += 10800
        state = poll(srv, receipt).json
        assert state["expired"] == 1 and state["acknowledged"] == 0
        # 360 intervals of 30 s fit in 10800 s, but the server stops after 50 re-alerts
        assert state["last_delivered_at"] == 1_700_000_000 + 50 * 30
        with pytest.raises(ValueError):
            srv.acknowledge(receipt)
        clock.t = 1_700_000_000 + 7 * 24 * 3600 + 1  # receipts live a week
        r = poll(srv, receipt)
        assert r.status == 404 and r.json["status"] == 0 and r.json["receipt"] == "not found"


def test_receipt_cancel(srv):
    receipt = emergency(srv)
    r = call(srv, "POST", "/1/receipts/%s/cancel.json" % receipt, urlencode({"token": TOKEN}))
    assert_ok(r)
    state = poll(srv, receipt).json
    assert (state["expired"], state["canceled"], state["acknowledged"]) == (1, 1, 0)
    assert state["canceled_at"] > 0
    with pytest.raises(ValueError):
        srv.acknowledge(receipt)
    # unknown receipt, a receipt of another application, a bad token
    assert call(srv, "POST", "/1/receipts/%s/cancel.json" % ("Q" * 30),
                urlencode({"token": TOKEN})).status == 404
    mine = emergency(srv)
    assert poll(srv, mine, token=OTHER_TOKEN).status == 404
    r = call(srv, "POST", "/1/receipts/%s/cancel.json" % mine, urlencode({"token": OTHER_TOKEN}))
    assert r.status == 404
    assert poll(srv, mine).json["expired"] == 0
    assert_error_shape(call(srv, "POST", "/1/receipts/%s/cancel.json" % mine,
                            urlencode({"token": "bad"})), ["token"])
    assert_error_shape(poll(srv, mine, token="bad"), ["token"])


def test_receipt_cancel_by_tag_with_spaces_and_slashes(srv):
    tag = "site A/door 1"
    a = emergency(srv, tags=tag + ",other")
    b = emergency(srv, tags=" %s " % tag)
    c = emergency(srv, tags="site A")
    d = emergency(srv, tags=tag, token=OTHER_TOKEN)
    path = "/1/receipts/cancel_by_tag/%s.json" % quote(tag, safe="")
    assert "/" not in quote(tag, safe="")
    p = assert_ok(call(srv, "POST", path, urlencode({"token": TOKEN})))
    assert p["canceled"] == 2
    assert [poll(srv, x).json["expired"] for x in (a, b, c)] == [1, 1, 0]
    assert poll(srv, d, token=OTHER_TOKEN).json["expired"] == 0
    assert call(srv, "POST", path, urlencode({"token": TOKEN})).json["canceled"] == 0
    # the tag is one path segment: an unencoded slash does not match the route
    assert call(srv, "POST", "/1/receipts/cancel_by_tag/site%20A/door%201.json",
                urlencode({"token": TOKEN})).status == 404


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
    clock = Clock(1_733_000_000)  # 2024-11-30 UTC
    with make_server(tmp_path, quota=7, clock=clock) as srv:
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


# ---- quota

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


def test_quota_resets_at_the_start_of_the_month(tmp_path):
    clock = Clock(1_735_689_590)  # 2024-12-31 23:59:50 UTC
    with make_server(tmp_path, quota=1, clock=clock) as srv:
        r = send(srv)
        assert r.header("X-Limit-App-Reset") == "1735689600"  # 2025-01-01 00:00:00 UTC
        assert send(srv).status == 429
        clock.t = 1_735_689_600
        r = send(srv)
        assert r.status == 200 and r.header("X-Limit-App-Remaining") == "0"
        assert r.header("X-Limit-App-Reset") == "1738368000"  # 2025-02-01


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


# --------------------------------------------------------------------------- request bodies

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


# --------------------------------------------------------------------------- persistence, inbox

def test_messages_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    with make_server(data) as first:
        assert_ok(send(first, message="text only"))
        assert_ok(send_multipart(first, multipart_with(("cam.png", PNG, "image/png"),
                                                       [("title", "with image")])))
        assert_ok(send(first, message="b64", attachment_type="image/jpeg",
                       attachment_base64=base64.b64encode(JPEG).decode()))
        receipt = emergency(first, message="urgent")
        assert_ok(call(first, "POST", "/1/glances.json",
                       urlencode({"token": TOKEN, "user": USER, "count": "5"})))
        before = first.messages()
        png_url = before[2]["attachment"]["url"]
    assert not first.running
    with make_server(data) as second:
        after = second.messages()
        assert [m["id"] for m in after] == [m["id"] for m in before]
        assert after == before
        assert [m["fields"]["message"] for m in after] == ["urgent", "b64", "hello", "text only"]
        r = call(second, "GET", png_url)
        assert r.status == 200 and r.body == PNG and r.header("Content-Type") == "image/png"
        r = call(second, "GET", after[1]["attachment"]["url"])
        assert r.body == JPEG
        assert second.glances()[0]["fields"]["count"] == "5"
        state = assert_ok(poll(second, receipt))  # the receipt is still known to its token
        assert state["acknowledged"] == 0
        assert poll(second, receipt, token=OTHER_TOKEN).status == 404
        second.acknowledge(receipt)
        assert_ok(send(second, message="newest"))
        assert second.messages()[0]["fields"]["message"] == "newest"
        assert second.messages()[0]["seq"] > after[0]["seq"]
    with make_server(data) as third:
        assert poll(third, receipt).json["acknowledged"] == 1
        assert len(third.messages()) == 5


def test_attachment_named_json_does_not_become_a_message(tmp_path):
    data = tmp_path / "data"
    fake = json.dumps({"seq": 99999, "id": "fake"}).encode()
    with make_server(data) as first:
        assert_ok(send_multipart(first, multipart_with(("evil.json", fake, "image/png"))))
        stored_as = first.messages()[0]["attachment"]["stored_as"]
    with make_server(data) as second:
        assert [m["attachment"]["stored_as"] for m in second.messages()] == [stored_as]
        assert call(second, "GET", "/").status == 200
        assert call(second, "GET", second.messages()[0]["attachment"]["url"]).body == fake


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


# --------------------------------------------------------------------------- safety

def test_default_bind_is_loopback(tmp_path):
    srv = PushoverServer(port=0, data_dir=str(tmp_path), max_seconds=5)
    assert srv.host == "127.0.0.1"
    with srv:
        assert srv._httpd.server_address[0] == "127.0.0.1"
        assert srv.url == "http://127.0.0.1:%d" % srv.port
        assert srv.api_url == srv.url + "/1"


def test_cli_warns_for_a_non_loopback_host(tmp_path, capsys):
    # binds 0.0.0.0 on a free port for 0.2 s and is never contacted
    assert pushover_server.main(["--host", "0.0.0.0", "--port", "0", "--max-seconds", "0.2",
                                 "--data", str(tmp_path / "a")]) == 0
    out = capsys.readouterr()
    assert "WARNING" in out.err and "0.0.0.0" in out.err
    assert pushover_server.main(["--port", "0", "--max-seconds", "0.2",
                                 "--data", str(tmp_path / "b")]) == 0
    out = capsys.readouterr()
    assert "WARNING" not in out.err
    assert "http://127.0.0.1:" in out.out
    for host, loop in [("127.0.0.1", True), ("localhost", True), ("::1", True),
                       ("127.1.2.3", True), ("0.0.0.0", False), ("192.168.1.10", False),
                       ("::", False), ("example.invalid", False)]:
        assert pushover_server._is_loopback(host) is loop, host


def find_leak(text, keys=KEYS):
    """A 10-character piece of any key found in `text` (masking keeps only 4), or None."""
    for k in keys:
        for i in range(len(k) - 9):
            if k[i:i + 10] in text:
                return k[i:i + 10]
    return None


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


def test_mask_helpers():
    assert pushover_server.mask(TOKEN) == "srvT\u2026"
    assert pushover_server.mask(TOKEN + "," + USER) == "srvT\u2026,srvT\u2026"
    assert pushover_server.mask("short") == "\u2026"
    line = pushover_server.mask_text("GET /x?token=%s&user=%s%%2C%s bare %s" % (
        TOKEN, USER, USER2, OTHER_TOKEN))
    assert find_leak(line) is None


# --------------------------------------------------------------------------- fault modes

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


def test_server_stops_by_itself(tmp_path):
    srv = make_server(tmp_path, max_seconds=0.3).start()
    assert srv.running
    t0 = time.monotonic()
    srv.wait()
    assert not srv.running and time.monotonic() - t0 < 1.5
    with pytest.raises(OSError):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=1) as s:
            s.sendall(head("GET", "/"))
            read_reply(s)
    srv.stop()


def test_stop_cuts_a_slow_reply_short(tmp_path):
    srv = make_server(tmp_path, slow_seconds=10).start()
    srv.set_fault("slow", 1)
    done = {}

    def client():
        try:
            send(srv)
        except Exception as e:  # noqa: BLE001 - recorded for the assertion
            done["error"] = e

    t = threading.Thread(target=client)
    t.start()
    deadline = time.monotonic() + 3
    while not srv.messages() and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.monotonic()
    srv.stop()
    t.join(3)
    assert not t.is_alive() and time.monotonic() - t0 < 2
    assert isinstance(done.get("error"), (http.client.RemoteDisconnected, ConnectionError))


# --------------------------------------------------------------------------- command line

def test_cli_starts_serves_and_exits_by_itself(tmp_path):
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "--port", "0", "--max-seconds", "2",
         "--data", str(tmp_path / "cli"), "--token", TOKEN, "--quota", "5",
         "--fault", "503", "--fault-count", "1", "--slow-seconds", "0.1", "--verbose"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"inbox (http://127\.0\.0\.1:(\d+))/\s+API (\S+)", line)
        assert m, line
        base, port, api = m.group(1), int(m.group(2)), m.group(3)
        assert api == base + "/1"

        def post(path, body):
            req = urllib.request.Request(base + path, data=body.encode(),
                                         headers={"Content-Type": FORM})
            try:
                with urllib.request.urlopen(req, timeout=3) as r:
                    return r.status, dict(r.headers), json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), json.loads(e.read())

        assert post("/1/messages.json", urlencode(fields()))[0] == 503  # --fault 503, once
        status, headers, p = post("/1/messages.json", urlencode(fields(message="via cli")))
        assert status == 200 and p["status"] == 1
        assert headers["X-Limit-App-Limit"] == "5" and headers["X-Limit-App-Remaining"] == "4"
        status, _, p = post("/1/messages.json", urlencode(fields(token=OTHER_TOKEN)))
        assert status == 400 and p["token"] == "invalid"  # --token restricts
        with urllib.request.urlopen(base + "/inbox.json", timeout=3) as r:
            assert json.loads(r.read())[0]["fields"]["message"] == "via cli"
        out, err = proc.communicate(timeout=4)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert time.monotonic() - t0 < 5.5
    assert "fault=503" in err and "POST /1/messages.json" in err
    assert find_leak(line + out + err) is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert len(list((tmp_path / "cli" / "messages").glob("*.json"))) == 1


def test_cli_warns_about_a_key_that_can_never_match(tmp_path, capsys):
    assert pushover_server.main(["--port", "0", "--max-seconds", "0.1", "--data",
                                 str(tmp_path), "--user", "tooShortKey"]) == 0
    err = capsys.readouterr().err
    assert "can never match" in err and "tooShortKey" not in err


def test_cli_port_in_use(tmp_path, capsys):
    with make_server(tmp_path / "a") as srv:
        rc = pushover_server.main(["--port", str(srv.port), "--max-seconds", "0.1",
                                   "--data", str(tmp_path / "b")])
    assert rc == 1 and "cannot listen" in capsys.readouterr().err


# --------------------------------------------------------------------------- odds and ends

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


def test_constructor_fault_applies_until_cleared(tmp_path):
    with make_server(tmp_path, fault="503") as srv:
        assert srv.fault_state() == ("503", None)
        assert [send(srv).status for _ in range(3)] == [503, 503, 503]
        srv.set_fault(None)
        assert_ok(send(srv))


def test_restart_of_the_same_object(tmp_path):
    srv = make_server(tmp_path, quota=2)
    with srv:
        assert_ok(send(srv, message="before"))
        assert_ok(send(srv))
        assert send(srv).status == 429
        port = srv.port
    assert not srv.running
    with srv:  # same port, same messages, and the quota counted afresh (documented)
        assert srv.port == port
        assert [m["fields"]["message"] for m in srv.messages()] == ["hello", "before"]
        r = send(srv)
        assert r.status == 200 and r.header("X-Limit-App-Remaining") == "1"


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
