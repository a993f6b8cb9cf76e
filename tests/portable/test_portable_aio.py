"""pushover.aio's protocol (request head, reply parsing fed in pieces) and its coroutine layer
over scripted streams (fake_aio), as plain functions and asserts: run by pytest on CPython
and by tests/portable/run.py under real MicroPython, whose WASI build has no asyncio.

What needs a real event loop (the watchdog firing, a cancelled task, drain's backpressure,
TLS over asyncio) is in tests/test_aio.py."""

import hashlib

from fake_aio import FakeAsyncio, Stream, http_reply
from fakes import FakeTls, raises

from pushover import (
    FieldError,
    Pushover,
    QuotaError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
    aio,
)
from pushover.errors import TLSError

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # 10 KB
NOT_SIGNED = "The certificate is not correctly signed by the trusted CA"


def client(url="http://127.0.0.1:8765/1", bufsize=256):
    return Pushover(TOKEN, USER, api_url=url, bufsize=bufsize, transport=object(), timeout=3)


def fed(data, piece, cap=4096, keepalive=True, secrets=()):
    """A Reply fed `data` in pieces of `piece` bytes, then the end of the stream if needed;
    (reply, pieces fed before it was done)."""
    reply = aio.Reply(cap, keepalive, secrets)
    pos = 0
    while True:
        chunk = data[pos:pos + piece]
        pos += len(chunk)
        if reply.feed(chunk):
            return reply, pos
        if not chunk:
            raise AssertionError("fed the end and still not done")


# ---- the protocol

def test_request_head_in_a_fixed_order():
    form = client().form("hi")
    head = aio.request_head("POST", "api.pushover.net", "/1/messages.json", form)
    assert head == (b"POST /1/messages.json HTTP/1.1\r\nHost: api.pushover.net\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                    + str(form.length).encode() + b"\r\nConnection: keep-alive\r\n\r\n")
    get = aio.request_head("GET", "h", "/1/x.json", None, False)
    assert get == b"GET /1/x.json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"


def test_a_reply_fed_in_pieces_of_every_size():
    body = b'{"status":1,"request":"r-1"}'
    for chunked in (False, True):
        data = http_reply(200, body, [("X-Limit-App-Remaining", "41")], chunked)
        for piece in range(1, len(data) + 1):
            reply, used = fed(data, piece)
            assert (reply.status, reply.body) == (200, body), (chunked, piece)
            assert reply.headers["x-limit-app-remaining"] == "41"
            assert reply.keep, (chunked, piece)
            assert used == len(data), "done before the reply was whole, or only at its end"


def test_when_a_connection_can_be_kept():
    def keep(data, keepalive=True):
        return fed(data, 64, keepalive=keepalive)[0].keep

    assert keep(http_reply())
    assert not keep(http_reply(), keepalive=False)
    assert not keep(http_reply(close=True))
    assert not keep(http_reply(version="HTTP/1.0"))
    assert not keep(http_reply() + b"HTTP/1.1 200 unasked\r\n"), "bytes nobody asked for"
    until_close = b"HTTP/1.1 200 OK\r\n\r\n" + b'{"status":1}'
    reply, _ = fed(until_close, 5)
    assert reply.body == b'{"status":1}' and not reply.keep


def test_broken_replies():
    e = raises(OSError, fed, b"", 10)
    assert "closed before the reply" in str(e)
    raises(OSError, fed, b"SMTP ready\r\n\r\n", 10)
    raises(OSError, fed, b"HTTP/1.1 abc X\r\n\r\n", 10)
    raises(OSError, fed, b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 1000, 100)
    e = raises(RejectedError, fed, b"HTTP/1.1 302 X\r\nLocation: http://x/\r\n\r\n", 10)
    assert "redirect" in str(e)
    big = b'{"status":1,"pad":"' + b"x" * 5000 + b'"}'
    for chunked in (False, True):
        e = raises(UnknownOutcomeError, fed, http_reply(200, big, chunked=chunked), 512,
                   secrets=[TOKEN])
        assert "larger than 4096 bytes" in str(e)
        reply, _ = fed(http_reply(400, big, chunked=chunked), 512)
        assert reply.status == 400 and reply.body == b"" and not reply.keep
    truncated = http_reply(200, b'{"status":1,"request":"r"}')[:-5]
    reply, _ = fed(truncated, 7)
    assert reply.status == 200 and reply.body == b'{"status":1,"request"' and not reply.keep


def test_the_runtime_picks_its_tls_module():
    import sys

    if sys.implementation.name == "micropython":
        try:
            import tls  # noqa: F401
        except ImportError:  # the WASI build has none: asking for it must say so
            raises(ImportError, aio.runtime_tls)
        else:
            assert aio.runtime_tls().__name__ == "tls"
    else:
        assert aio.runtime_tls().__name__ == "ssl"


# ---- the coroutine layer over scripted streams

def sent_form(po, message, **fields):
    """(length, sha256) of what po.form() streams for the message (with a fixed boundary)."""
    digest = hashlib.sha256()
    length = 0
    for chunk in po.form(message, boundary="b0und", **fields).chunks():
        digest.update(chunk)
        length += len(chunk)
    return length, digest.digest()


def test_a_send_streams_the_head_then_the_exact_body():
    po = client()
    stream = Stream(http_reply(headers=[("X-Limit-App-Remaining", "7")]), keep=True)
    fake = FakeAsyncio([stream])
    conn = aio.Connection(po)
    form = po.form("Motion", boundary="b0und", attachment=JPEG, attachment_name="cam.jpg")
    result = fake.run(conn.request("POST", "messages.json", form))
    assert result.request == "req-1" and result.remaining == 7
    assert fake.opened == [("127.0.0.1", 8765, None, None)]
    sent = stream.sent()
    head, _, body = sent.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /1/messages.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert b"Content-Length: " + str(len(body)).encode() in head
    length, digest = sent_form(po, "Motion", attachment=JPEG, attachment_name="cam.jpg")
    assert len(body) == length and hashlib.sha256(body).digest() == digest
    assert stream.writes <= 4, "an attachment in RAM goes out as one view of itself"
    assert not stream.closed, "a kept-alive reply keeps the connection"
    conn.close()
    assert stream.closed


def test_bad_input_opens_nothing():
    po = client()
    fake = FakeAsyncio([Stream(http_reply())])
    e = raises(FieldError, fake.run, aio.send(po, "x" * 1025))
    assert e.field == "message" and fake.opened == []


def test_verified_https_gives_open_connection_a_checking_context():
    po = client("https://api.pushover.net/1")
    tls = FakeTls()
    fake = FakeAsyncio([Stream(http_reply())])
    conn = aio.Connection(po, tls=tls)
    fake.run(conn.send("hi"))
    ((host, port, ctx, name),) = fake.opened
    assert (host, port, name) == ("api.pushover.net", 443, "api.pushover.net")
    assert ctx is tls.contexts[0] and ctx.verify_mode == tls.CERT_REQUIRED
    assert b"DigiCert" in ctx.cadata or b"BEGIN CERTIFICATE" in ctx.cadata
    fake = FakeAsyncio([Stream(http_reply())])
    fake.run(aio.Connection(po, verify=False, tls=tls).send("hi"))
    assert tls.contexts[1].verify_mode == tls.CERT_NONE and tls.contexts[1].cadata is None


def test_a_certificate_refused_at_the_first_write_is_a_tls_error():
    """MicroPython's asyncio shakes hands at the first write: a refused certificate is a
    ValueError there. It must end as TLSError, with the connection closed."""
    po = client("https://api.pushover.net/1")
    stream = Stream(http_reply(), fail_at=0, error=ValueError(NOT_SIGNED))
    fake = FakeAsyncio([stream])
    e = raises(TLSError, fake.run, aio.Connection(po, tls=FakeTls()).send("hi"))
    assert e.retry is False and NOT_SIGNED in str(e)
    assert stream.length == 0 and stream.closed


def test_failures_are_classified_by_what_went_out():
    po = client()
    cases = [
        (Stream(b"", fail_at=100, error=OSError(104, "ECONNRESET")), TemporaryError),
        (Stream(b""), UnknownOutcomeError),  # the whole body out, then the end of the stream
        (Stream(http_reply(503, b'{"status":0}')), TemporaryError),
        (Stream(http_reply(429, b'{"status":0}', [("X-Limit-App-Reset", "1")])), QuotaError),
        (Stream(http_reply(400, b'{"status":0,"errors":["user identifier is invalid"],'
                                b'"user":"invalid"}')), RejectedError),
        (Stream(http_reply(200, b"<html>")), UnknownOutcomeError),
    ]
    for stream, kind in cases:
        fake = FakeAsyncio([stream])
        e = raises(kind, fake.run, aio.send(po, "hi", attachment=JPEG))
        assert TOKEN not in str(e) and USER not in str(e), e
        assert stream.closed, kind
    fake = FakeAsyncio([])  # connection refused
    e = raises(TemporaryError, fake.run, aio.send(po, "hi"))
    assert "cannot connect" in str(e)


def test_one_connection_for_many_while_the_server_keeps_it():
    po = client()
    first = Stream(http_reply(), http_reply())
    fake = FakeAsyncio([first])
    conn = aio.Connection(po)
    for text in ("one", "two"):
        assert fake.run(conn.send(text)).request == "req-1"
    assert len(fake.opened) == 1 and conn.connections == 1
    conn.close()
    fake = FakeAsyncio([Stream(http_reply(close=True)), Stream(http_reply(close=True))])
    conn = aio.Connection(po)
    for text in ("one", "two"):
        fake.run(conn.send(text))
    assert len(fake.opened) == 2


def test_a_stale_kept_connection_is_replaced_once():
    """The server closed the idle connection: the write fails before the body is out, so the
    request goes again on a new connection, and only once."""
    po = client()
    stale = Stream(http_reply(), fail_at=10 ** 9, error=OSError(32, "EPIPE"))
    fake = FakeAsyncio([stale, Stream(http_reply())])
    conn = aio.Connection(po)
    fake.run(conn.send("one"))
    stale.fail_at = stale.length  # broken from now on
    assert fake.run(conn.send("two")).request == "req-1"
    assert len(fake.opened) == 2


# ---- the watchdog, with time that passes only when it sleeps

class _Cancellable:
    def __init__(self):
        self.cancels = 0

    def cancel(self):
        self.cancels += 1


def test_the_watchdog_fires_only_after_timeout_ms_without_progress():
    conn = aio.Connection(client())
    now = [0]
    slept = []

    class Clock(FakeAsyncio):
        async def sleep(self, seconds):
            slept.append(int(seconds * 1000))
            now[0] += int(seconds * 1000)
            if len(slept) == 1:
                conn._last = 600  # a chunk went out 600 ms into the first wait

    saved = aio.ticks_ms
    aio.ticks_ms = lambda: now[0]
    try:
        task = _Cancellable()
        conn._last = 0
        Clock([]).run(conn._watch(task, 1000))
    finally:
        aio.ticks_ms = saved
    assert slept == [1000, 600] and now[0] == 1600, slept
    assert task.cancels == 1 and conn._fired


class _StallingStream(Stream):
    """A stream whose drain (at byte `at` of the request) or read is where the watchdog's
    cancel lands, as it would in a task waiting on a stalled socket."""

    def __init__(self, conn, at=None):
        super().__init__(b"")
        self.conn = conn
        self.at = at

    def _cancelled(self):
        self.conn._fired = True  # what the watchdog sets before it cancels
        from fake_aio import CancelledError

        raise CancelledError()

    async def drain(self):
        if self.at is not None and self.length >= self.at:
            self._cancelled()

    async def read(self, n):
        self._cancelled()


def test_a_stall_ends_as_temporary_before_the_body_is_out_and_unknown_after():
    po = client()
    for at, kind in ((2000, TemporaryError), (None, UnknownOutcomeError)):
        conn = aio.Connection(po)
        stream = _StallingStream(conn, at)
        e = raises(kind, FakeAsyncio([stream]).run, conn.send("hi", attachment=JPEG))
        assert "timed out after 3 s without progress" in str(e), e
        assert stream.closed and conn._writer is None and not conn._busy


def test_a_cancel_by_the_caller_propagates_and_closes():
    from fake_aio import CancelledError

    class Cancelled(Stream):
        async def drain(self):
            raise CancelledError()  # the caller's cancel: the watchdog did not fire

    po = client()
    conn = aio.Connection(po)
    stream = Cancelled(b"")
    raises(CancelledError, FakeAsyncio([stream]).run, conn.send("hi"))
    assert stream.closed and not conn._fired and not conn._busy


def test_a_text_message_leaves_in_one_write_whatever_the_pushovers_transport():
    """aio writes its request head through the form's buffer, so its forms keep room for it,
    even where the Pushover's own transport (requests, the default) needs none."""
    from pushover.http import UrequestsTransport

    class Requests:
        def request(self, *args, **kwargs):
            raise AssertionError("not used by aio")

    po = Pushover(TOKEN, USER, api_url="http://127.0.0.1:8765/1",
                  transport=UrequestsTransport(module=Requests()))
    # no room needed: the body, and the 2 bytes that let it go out as one chunk
    assert len(po.form("Door open")._buf) == po.form("Door open").length + 2
    for call in ("send", "connection"):
        stream = Stream(http_reply(), keep=True)
        fake = FakeAsyncio([stream])
        if call == "send":
            result = fake.run(aio.send(po, "Door open"))
        else:
            conn = aio.Connection(po)
            result = fake.run(conn.send("Door open"))
            conn.close()
        assert result.request == "req-1" and stream.writes == 1, (call, stream.writes)


def test_a_failed_request_closes_its_connection_before_loading_what_it_means():
    """outcome.py loads only when something fails, after the connection is closed (the
    import does not compete with the connection for the heap)."""
    import sys

    seen = []

    class Watched(Stream):
        def close(self):
            seen.append("pushover.outcome" in sys.modules)
            Stream.close(self)

    for stream in (Watched(b"", fail_at=100, error=OSError(104, "ECONNRESET")),
                   Watched(b"")):  # a failed write; the end of the stream before a reply
        sys.modules.pop("pushover.outcome", None)
        seen.clear()
        fake = FakeAsyncio([stream])
        raises(TemporaryError if stream.fail_at else UnknownOutcomeError, fake.run,
               aio.send(client(), "hi", attachment=JPEG))
        assert seen and seen[0] is False, seen
        assert "pushover.outcome" in sys.modules  # loaded after: the check above can fail
