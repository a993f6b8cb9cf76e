"""Core behaviour as plain functions and asserts: run by pytest on CPython and by
tests/portable/run.py under real MicroPython, so both runtimes are held to the same results."""

from fakes import FakeTransport, Reply

from pushover import (
    FieldError,
    Pushover,
    QuotaError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
)
from pushover.http import read_body

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4

# (message, fields) whose bodies must be byte-for-byte the same on both runtimes
CASES = [
    ("plain", {}),
    ("T\u00fcr offen & 50% + = \"q\"\r\nline", {"title": "\u20ac \U0001f600", "priority": 1}),
    ("all", {"title": "t", "url": "https://x.example/?a=1&b=2", "url_title": "u",
             "device": ["phone", "tab-2"], "html": 1, "sound": "siren", "timestamp": 1700000000,
             "ttl": 60}),
    ("emergency", {"priority": 2, "retry": 30, "expire": 10800, "callback": "https://cb",
                   "tags": "door,garage"}),
    ("image", {"attachment": JPEG, "attachment_name": "cam.jpg"}),
    ("b64", {"attachment_base64": JPEG, "attachment_type": "image/jpeg"}),
]


def body_digests():
    """(length, sha256 hex) of each CASE, with a fixed boundary."""
    out = []
    for message, fields in CASES:
        fake = FakeTransport()
        po = Pushover(TOKEN, USER, transport=fake, bufsize=100)
        form = po.form(message, boundary="fixedBoundary42", **fields)
        po.request("POST", "messages.json", form)
        call = fake.calls[0]
        assert call["length"] == call["declared"]
        out.append((call["length"], "".join("%02x" % b for b in call["sha256"])))
    return out


def test_body_lengths_match_what_is_streamed():
    assert len(body_digests()) == len(CASES)


def raises(cls, func, *args, **kwargs):
    try:
        func(*args, **kwargs)
    except cls as e:
        return e
    raise AssertionError("expected " + cls.__name__)


def test_validation_errors():
    po = Pushover(TOKEN, USER, transport=FakeTransport())
    e = raises(FieldError, po.send, "x" * 1025)
    assert str(e) == "message: at most 1024 characters (got 1025)"
    assert e.field == "message" and e.limit == 1024 and e.size == 1025
    e = raises(FieldError, po.send, "x", title="\u00e9" * 251)
    assert str(e) == "title: at most 250 characters (got 251)"
    e = raises(FieldError, po.send, "x", priority=2, retry=29, expire=60)
    assert str(e) == "retry: at least 30 (got 29)"
    e = raises(FieldError, po.send, "x", html=1, monospace=1)
    assert str(e) == "html: cannot be combined with monospace"
    e = raises(FieldError, po.send, "x", device="bad name")
    assert e.field == "device"
    e = raises(FieldError, po.send, "x", attachment=b"not an image")
    assert e.field == "attachment"
    e = raises(ValueError, Pushover, "short", USER)
    assert str(e) == "token: must be exactly 30 letters and digits (got 5)"
    assert not po.transport.calls, "no request may be made for bad input"


def test_reply_parsing():
    po = Pushover(TOKEN, USER, transport=FakeTransport(Reply(
        200, b'{"status":1,"request":"r9","receipt":"abc"}',
        {"x-limit-app-limit": "10000", "x-limit-app-remaining": "42",
         "x-limit-app-reset": "1767225600"})))
    r = po.send("hi")
    assert (r.request, r.receipt, r.limit, r.remaining, r.reset) == (
        "r9", "abc", 10000, 42, 1767225600)
    po.transport.reply = Reply(400, b'{"status":0,"user":"invalid","errors":["user bad"]}')
    e = raises(RejectedError, po.send, "hi")
    assert e.errors == ["user bad"] and e.fields == {"user": "invalid"} and e.retry is False
    po.transport.reply = Reply(429, b"{}", {"x-limit-app-reset": "0"})
    assert raises(QuotaError, po.send, "hi").reset == 0
    po.transport.reply = Reply(503, b"")
    assert raises(TemporaryError, po.send, "hi").retry_after == 5
    po.transport.reply = Reply(200, b"<html>")
    assert raises(UnknownOutcomeError, po.send, "hi").retry is None


class Lines:
    def __init__(self, data):
        self.data = data

    def readline(self):
        i = self.data.find(b"\n") + 1 or len(self.data)
        out, self.data = self.data[:i], self.data[i:]
        return out

    def read(self, n):
        out, self.data = self.data[:n], self.data[n:]
        return out


def test_chunked_and_capped_reply_bodies():
    chunked = Lines(b"5\r\n{\"a\":\r\n3;x=y\r\n 1}\r\n0\r\n\r\n")
    assert read_body(chunked, {"transfer-encoding": "chunked"}) == b'{"a": 1}'
    assert read_body(Lines(b'{"b":2}'), {"transfer-encoding": "chunked"}) == b'{"b":2}'
    assert read_body(Lines(b"abcdef"), {"content-length": "3"}) == b"abc"
    assert read_body(Lines(b"abcdef"), {}) == b"abcdef"
    raises(ValueError, read_body, Lines(b"x" * 5000), {})
    raises(ValueError, read_body, Lines(b"1389\r\n" + b"x" * 5001), {"transfer-encoding": "chunked"})


def test_secrets_not_in_errors():
    po = Pushover(TOKEN, USER, transport=FakeTransport(Reply(
        400, ('{"status":0,"errors":["bad ' + TOKEN + '"],"user":"' + USER + '"}').encode())))
    e = raises(RejectedError, po.send, "hi")
    text = str(e) + repr(e.errors) + repr(e.fields) + repr(po)
    assert TOKEN not in text and USER not in text


def _via_urequests(reply=None, fail_after=None, **fields):
    """A send through the default transport (UrequestsTransport) over a fake firmware module."""
    from fakes import FakeUrequests

    from pushover.http import UrequestsTransport

    fake = FakeUrequests(fail_after=fail_after) if reply is None else FakeUrequests(
        reply, fail_after)
    po = Pushover(TOKEN, USER, transport=UrequestsTransport(fake), bufsize=100)
    return po, fake


def test_urequests_transport_streams_with_an_exact_length():
    po, fake = _via_urequests()
    r = po.send("door", attachment=JPEG)
    call = fake.calls[0]
    assert r.request == "req-1"
    assert call["headers"]["Content-Length"] == str(call["length"])
    assert call["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert all(resp.raw.closed for resp in fake.responses)


def test_urequests_transport_reads_quota_headers_and_chunked_replies():
    reply = (b"HTTP/1.1 200 OK\r\nX-Limit-App-Remaining: 7\r\ntransfer-encoding: chunked\r\n\r\n"
             b"1e\r\n{\"status\":1,\"request\":\"req-2\"}\r\n0\r\n\r\n")
    po, fake = _via_urequests(reply)
    r = po.send("hi")
    assert (r.request, r.remaining) == ("req-2", 7)
    assert fake.responses[0].raw.closed


def test_urequests_transport_error_paths_close_the_response():
    po, fake = _via_urequests(b"HTTP/1.0 302 Found\r\nLocation: http://elsewhere/\r\n\r\n")
    raises(RejectedError, po.send, "hi")
    po, fake = _via_urequests(b"HTTP/1.0 400 Bad\r\n\r\n{\"status\":0,\"errors\":[\"bad\"]}")
    assert raises(RejectedError, po.send, "hi").errors == ["bad"]
    assert fake.responses[0].raw.closed
    po, fake = _via_urequests(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000)
    raises(UnknownOutcomeError, po.send, "hi")
    assert fake.responses[0].raw.closed
    po, fake = _via_urequests(fail_after=2)
    raises(TemporaryError, po.send, "hi", attachment=JPEG)  # dropped mid-body: safe to resend
