"""Core behaviour as plain functions and asserts: run by pytest on CPython and by
tests/portable/run.py under real MicroPython, so both runtimes are held to the same results."""

from fakes import FakeTransport, Reply, raises

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


def test_a_bufsize_that_cannot_work_is_refused_by_the_constructor():
    """Not at the first send: a queue would keep its messages for ever, and a str or None
    would end in a TypeError rather than a FieldError."""
    e = raises(FieldError, Pushover, TOKEN, USER, transport=FakeTransport(), bufsize=63)
    assert (e.field, e.limit, e.size) == ("bufsize", 64, 63)
    assert str(e) == "bufsize: at least 64 (got 63)"
    e = raises(FieldError, Pushover, TOKEN, USER, transport=FakeTransport(), bufsize=1 << 63)
    assert str(e) == "bufsize: at most 5242880 (got 9223372036854775808)"
    for bad in ("1024", None, 1024.0, True):
        e = raises(FieldError, Pushover, TOKEN, USER, transport=FakeTransport(), bufsize=bad)
        assert e.field == "bufsize" and TOKEN not in str(e), str(e)
    assert Pushover(TOKEN, USER, transport=FakeTransport(), bufsize=64).bufsize == 64


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


class OneChunkAtATime:
    """requests 1.1's BodyStream: read(n), readinto, close and nothing else."""

    def __init__(self, chunks):
        self.chunks = list(chunks)

    def read(self, n):
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if len(chunk) > n:
            chunk, rest = chunk[:n], chunk[n:]
            self.chunks.insert(0, rest)
        return chunk

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self):
        pass


def test_chunked_and_capped_reply_bodies():
    chunked = Lines(b"5\r\n{\"a\":\r\n3;x=y\r\n 1}\r\n0\r\n\r\n")
    assert read_body(chunked, {"transfer-encoding": "chunked"}) == b'{"a": 1}'
    # already de-chunked (requests 1.1): read(n) only, which returns at most one chunk
    assert read_body(OneChunkAtATime([b'{"b"', b":2}"]), {"transfer-encoding": "chunked"},
                     dechunk=False) == b'{"b":2}'
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


GENERATIONS = ("0.10", "1.0", "1.1")
OK_REPLY = (b"HTTP/1.1 200 OK\r\nX-Limit-App-Remaining: 7\r\nContent-Length: 30\r\n\r\n"
            b'{"status":1,"request":"req-2"}')
CHUNKED_REPLY = (b"HTTP/1.1 200 OK\r\nX-Limit-App-Remaining: 7\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n"
                 b"11\r\n{\"status\":1,\"requ\r\n"
                 b"d\r\nest\":\"req-2\"}\r\n0\r\n\r\n")


class Collections(list):
    """Counts the transport's calls for a collection (gc.collect() is broken in the WASI
    build used here, so the tests count the calls instead of running it)."""

    def __call__(self):
        self.append(1)


def _via_requests(generation, reply=None, fail_after=None):
    """A Pushover whose default transport (UrequestsTransport) goes through the stand-in of
    one generation of the firmware's `requests` over a fake socket module; `net.collected`
    counts the collections the transport asked for."""
    from fakes import FakeNet, FakeTls
    from requests import Requests

    from pushover.http import UrequestsTransport

    net = FakeNet(fail_after=fail_after) if reply is None else FakeNet(reply, fail_after)
    net.collected = Collections()
    transport = UrequestsTransport(Requests(generation, socket=net, tls=FakeTls()),
                                   collect=net.collected)
    return Pushover(TOKEN, USER, transport=transport, bufsize=100), net


def test_requests_transport_streams_with_an_exact_length():
    for gen in GENERATIONS:
        po, net = _via_requests(gen)
        r = po.send("door", attachment=JPEG)
        sock = net.sockets[0]
        assert r.request == "req-1", gen
        assert sock.headers["Content-Length"] == str(sock.length), gen
        assert "Transfer-Encoding" not in sock.headers, gen
        assert sock.headers["Content-Type"].startswith("multipart/form-data; boundary="), gen
        assert sock.head.split(b"\r\n")[0].endswith(
            b"HTTP/1.0" if gen == "0.10" else b"HTTP/1.1"), gen
        assert net.all_closed(), gen


def test_requests_transport_reads_quota_headers_and_content_length_replies():
    for gen in GENERATIONS:
        po, net = _via_requests(gen, OK_REPLY)
        r = po.send("hi")
        assert (r.request, r.remaining) == ("req-2", 7), gen
        assert net.all_closed(), gen


def test_requests_transport_chunked_reply_on_each_generation():
    """1.1 de-chunks and hands over a stream with read(n) only: the reply is read whole. Older
    generations refuse a chunked reply while reading headers (a ValueError, socket left to its
    finaliser): the body went out, so the outcome is unknown, typed, never a bare ValueError."""
    po, net = _via_requests("1.1", CHUNKED_REPLY)
    r = po.send("hi")
    assert (r.request, r.remaining) == ("req-2", 7)
    assert net.all_closed()
    for gen in ("0.10", "1.0"):
        po, net = _via_requests(gen, CHUNKED_REPLY)
        e = raises(UnknownOutcomeError, po.send, "hi")
        assert "chunked" in str(e), gen
        # requests left its socket open: the transport has the collector finalise it
        assert not net.all_closed() and len(net.collected) == 1, gen
    # a lower-case header is not seen by the old ones' exact-case match: the chunked bytes
    # come through the socket, and the library decodes them itself
    lower = CHUNKED_REPLY.replace(b"Transfer-Encoding", b"transfer-encoding")
    for gen in GENERATIONS:
        po, net = _via_requests(gen, lower)
        assert po.send("hi").request == "req-2", gen
        assert net.all_closed(), gen


def test_requests_transport_error_paths_close_the_socket():
    for gen in GENERATIONS:
        po, net = _via_requests(gen, b"HTTP/1.0 302 Found\r\nLocation: http://elsewhere/\r\n\r\n")
        raises(RejectedError, po.send, "hi")
        assert net.all_closed(), gen
        po, net = _via_requests(gen, b"HTTP/1.0 400 Bad\r\n\r\n{\"status\":0,\"errors\":[\"bad\"]}")
        assert raises(RejectedError, po.send, "hi").errors == ["bad"], gen
        assert net.all_closed(), gen
        po, net = _via_requests(gen, b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000)
        raises(UnknownOutcomeError, po.send, "hi")
        assert net.all_closed(), gen
        po, net = _via_requests(gen, fail_after=2)
        raises(TemporaryError, po.send, "hi", attachment=JPEG)  # dropped mid-body: resend
        assert net.all_closed(), gen
        po, net = _via_requests(gen, b"")
        # the body went out, no reply came; requests raises a ValueError for the empty status
        # line and, as the firmware does, leaves its socket to the finaliser
        raises(UnknownOutcomeError, po.send, "hi")
        assert len(net.collected) == 1, gen
        from fakes import FakeNet, FakeTls
        from requests import Requests

        from pushover.http import UrequestsTransport

        refused = FakeNet(refuse=True)
        po = Pushover(TOKEN, USER, transport=UrequestsTransport(
            Requests(gen, socket=refused, tls=FakeTls()), collect=Collections()))
        raises(TemporaryError, po.send, "hi")
        assert refused.all_closed() and not po.transport.collect, gen  # an OSError: closed


def test_a_source_that_shrinks_mid_send_is_a_field_error_and_closes_the_socket():
    class Shrinking:
        def __init__(self):
            self.data = JPEG
            self.pos = 0

        def readinto(self, buf):
            k = min(len(buf), 300 - self.pos)  # ends after 300 of its declared bytes
            buf[:k] = self.data[self.pos:self.pos + k]
            self.pos += k
            return k

    for gen in GENERATIONS:
        po, net = _via_requests(gen)
        e = raises(FieldError, po.send, "hi", attachment=Shrinking(),
                   attachment_size=len(JPEG), attachment_type="image/jpeg")
        assert e.field == "attachment" and e.size == 300, (gen, e.size)
        assert net.all_closed(), gen


def test_failures_are_classified_in_one_place():
    from pushover.errors import TLSError
    from pushover.outcome import classify

    assert isinstance(classify(OSError(104), 0, 100), TemporaryError)
    assert isinstance(classify(OSError(104), 50, 100), TemporaryError)
    assert isinstance(classify(OSError(110), 100, 100), UnknownOutcomeError)
    assert isinstance(classify(ValueError("Unsupported Transfer-Encoding: chunked"), 100, 100),
                      UnknownOutcomeError)
    assert isinstance(classify(AttributeError("readline"), 100, 100), UnknownOutcomeError)
    assert isinstance(classify(OSError(104), 0, 0), TemporaryError)  # a GET: no body
    # MicroPython's tls refuses a certificate with a ValueError carrying mbedTLS's text
    for text in ("The certificate is not correctly signed by the trusted CA",
                 "The certificate Common Name (CN) does not match with the expected CN",
                 "The certificate validity has expired"):
        assert isinstance(classify(ValueError(text), 0, 100), TLSError), text
    assert isinstance(classify(OSError(-9984, "MBEDTLS_ERR_X509_CERT_VERIFY_FAILED"), 0, 100),
                      TLSError)
    assert isinstance(classify(OSError(-0x7200), 0, 100), TLSError)  # not TLS at all
    # mbedTLS's end of file mid-handshake is a dropped connection, ALLOC_FAILED a heap cut up
    # for the moment: temporary; and once the body is out, an mbedTLS error is no refusal
    assert isinstance(classify(OSError(-0x7280), 0, 100), TemporaryError)
    assert isinstance(classify(OSError(-0x7F00), 0, 100), TemporaryError)
    assert isinstance(classify(OSError(-0x7780), 100, 100), UnknownOutcomeError)
    assert isinstance(classify(OSError(-0x7780), 50, 100), TemporaryError)
    field = FieldError("attachment", "ended")
    assert classify(field, 10, 100) is field
    e = classify(OSError("token " + TOKEN), 0, 100, [TOKEN])
    assert TOKEN not in str(e)


def test_a_float_timestamp_is_taken_as_whole_seconds():
    fake = FakeTransport(keep=True)
    po = Pushover(TOKEN, USER, transport=fake)
    po.send("hi", timestamp=1700000000.75)
    assert b"timestamp=" + str(1700000000 + _epoch_offset()).encode() in fake.calls[0]["body"]


def test_an_infinite_or_nan_timestamp_is_a_field_error():
    po = Pushover(TOKEN, USER, transport=FakeTransport())
    for bad in (float("inf"), float("nan")):
        e = raises(FieldError, po.send, "hi", timestamp=bad)
        assert e.field == "timestamp" and "float" in str(e)


def _epoch_offset():
    from pushover.compat import EPOCH_OFFSET

    return EPOCH_OFFSET


def _without_requests(test, urequests=None):
    """Runs test() where `requests` cannot be imported, and `urequests` is the object given
    (or cannot be imported either)."""
    import sys

    names = ("requests", "urequests")
    saved_modules = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    saved_path = list(sys.path)
    try:
        if sys.implementation.name == "micropython":
            # the stand-in is found on the path: take its folder off it
            sys.path[:] = [p for p in sys.path if not p.endswith("firmware")]
        else:
            for name in names:  # CPython: a None entry makes the import fail
                sys.modules[name] = None
        if urequests is not None:
            sys.modules["urequests"] = urequests
        return test()
    finally:
        sys.path[:] = saved_path
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved_modules)


def test_requests_first_then_urequests_then_a_clear_error_at_construction():
    import requests

    from pushover import PushoverError

    assert Pushover(TOKEN, USER).transport.module is requests

    class Alias:  # the urequests of older firmware, where requests is not importable
        def request(self, *a, **kw):
            raise OSError(113)

    alias = Alias()
    assert _without_requests(lambda: Pushover(TOKEN, USER).transport.module, alias) is alias
    e = _without_requests(lambda: raises(PushoverError, Pushover, TOKEN, USER))
    assert "requests" in str(e)


def test_socket_transport_turns_a_tls_refusal_into_a_tls_error_and_closes():
    """MicroPython's tls refuses a certificate with a ValueError: a TLSError, never resent,
    the socket closed (the fakes stand in for the socket and tls modules)."""
    from fakes import FakeNet, FakeTls

    from pushover.errors import TLSError
    from pushover.sock import SocketTransport

    for text in ("The certificate is not correctly signed by the trusted CA",
                 "The certificate validity has expired"):
        net = FakeNet(CHUNKED_REPLY)
        tls = FakeTls(refuse=text)
        transport = SocketTransport(verify=True, cadata=b"-----BEGIN CERTIFICATE-----",
                                    connect=lambda host, port, t, net=net: net.socket(), tls=tls)
        po = Pushover(TOKEN, USER, transport=transport)
        e = raises(TLSError, po.send, "hi")
        assert text in str(e) and e.retry is False
        assert net.all_closed() and net.sockets[0].length == 0, "nothing may be written"
        assert tls.wrapped == [("api.pushover.net", FakeTls.CERT_REQUIRED)]
    # the same transport, certificate accepted: a chunked reply decoded by the library
    net = FakeNet(CHUNKED_REPLY)
    transport = SocketTransport(verify=True, cadata=b"-----BEGIN CERTIFICATE-----",
                                connect=lambda host, port, t: net.socket(), tls=FakeTls())
    assert Pushover(TOKEN, USER, transport=transport).send("hi").request == "req-2"


def test_an_unknown_attachment_field_is_refused_too():
    po = Pushover(TOKEN, USER, transport=FakeTransport())
    e = raises(FieldError, po.send, "x", attachment_kind="jpeg")
    assert e.field == "attachment_kind" and "not a message field" in str(e)
    e = raises(FieldError, po.send, "x", attachmnet=JPEG)
    assert e.field == "attachmnet"


class _IntoOnly:
    """readinto() and nothing else: a socket or a camera driver's stream cannot seek."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def readinto(self, buf):
        k = min(len(buf), len(self.data) - self.pos)
        buf[:k] = self.data[self.pos : self.pos + k]
        self.pos += k
        return k


class _ReadOnly:
    """read(n) and nothing else."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, n):
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def test_stream_sources_give_the_body_of_the_bytes():
    import io

    def body(form):
        return b"".join(bytes(c) for c in form.chunks())

    po = Pushover(TOKEN, USER, transport=FakeTransport(), bufsize=100)
    for field in ("attachment", "attachment_base64"):
        want = body(po.form("hi", boundary="B0", attachment_type="image/jpeg", **{field: JPEG}))
        offset = io.BytesIO(b"HEAD" + JPEG)
        offset.seek(4)
        for src, size, again in ((offset, None, True), (_IntoOnly(JPEG), len(JPEG), False),
                                 (_ReadOnly(JPEG), len(JPEG), False)):
            form = po.form("hi", boundary="B0", attachment_type="image/jpeg",
                           attachment_size=size, **{field: src})
            got = body(form)
            assert got == want and len(got) == form.length, (field, src)
            assert form.restartable == again, (field, src)
            if again:  # a seekable stream is sent again from where it started
                assert body(form) == want


def test_the_reply_header_lengths_are_those_of_the_wanted_names():
    """http skips a reply header on the length of its name: the lengths written out there
    must be those of the names it keeps, and of Location (which ends the request)."""
    from pushover import http

    assert sorted(http._NAME_LENGTHS) == sorted({len(n) for n in http._WANTED + ("location",)})
