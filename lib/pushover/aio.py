"""Pushover from an asyncio program: the same checks, streamed body, typed errors and Result
as Pushover.send(), over asyncio streams, so other tasks keep running while an image goes out.

    from pushover import Pushover, aio
    po = Pushover(TOKEN, USER)
    result = await aio.send(po, "Motion", attachment="/cam.jpg")

HTTPS is verified (CERT_REQUIRED, the host name, the bundled roots or `cadata`, the clock set
by NTP when unset); `verify=False` checks nothing (as `ssl=True` does in MicroPython's
asyncio). `timeout` is seconds without progress (default `po.timeout`): one watchdog task per
request cancels a stalled one, which then ends as a TemporaryError before the whole body went
out and an UnknownOutcomeError after it. A cancelled send closes its connection.

Connection keeps one connection alive for many requests; wait_receipt(), flush() and
retry_send() are the asyncio forms of Receipts.wait(), Queue.flush() and retry.send(), by
the same rules (those modules hold them). The protocol itself (request head, reply parsing)
is plain code below, which runs without asyncio.
"""

from micropython import const

from .compat import check_seconds, ticks_diff, ticks_ms
from .errors import TemporaryError
from .http import REPLY_CAP, _int_or_none, failure, out_of_memory, parse_reply, read_body
from .sock import (
    _nothing_read,
    _split_url,
    _Stale,
    check_replay,
    default_roots,
    ensure_clock,
    take_header,
    tls_context,
)

_READ = const(512)  # bytes asked for per read of a reply
_MAX_HEAD = const(4096)  # status line and headers of a reply
_MAX_HEADERS = const(40)
_TURN_MS = const(5)  # the longest the body's loop runs before it lets other tasks in


# ---- the protocol, without asyncio (the portable tests run it under MicroPython)

def request_head(method, host, path, form=None, keepalive=True):
    """The request line and headers, in a fixed order, as bytes."""
    head = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
    if form is not None:
        head += ("Content-Type: " + form.content_type + "\r\nContent-Length: "
                 + str(form.length) + "\r\n")
    return (head + "Connection: " + ("keep-alive" if keepalive else "close")
            + "\r\n\r\n").encode()


class _Short(Exception):
    """The reply so far ends before what the parser needs: read more."""


class _Reader:
    """read(n) and readline() over the bytes of a reply received so far, for read_body();
    running out before the end of the stream raises _Short."""

    def __init__(self, buf, pos, eof):
        self.buf = buf
        self.pos = pos
        self.eof = eof

    def read(self, n):
        end = min(self.pos + n, len(self.buf))
        if end == self.pos and not self.eof:
            raise _Short()
        data = bytes(self.buf[self.pos:end])
        self.pos = end
        return data

    def readline(self):
        end = self.buf.find(b"\n", self.pos)
        if end < 0:
            if not self.eof:
                raise _Short()
            end = len(self.buf) - 1
        data = bytes(self.buf[self.pos:end + 1])
        self.pos = end + 1
        return data


class Reply:
    """An HTTP reply, parsed from the pieces a socket gives: feed(data) until it returns True
    (feed(b"") is the end of the stream). Then `status`, `headers` (the few that matter, names
    in lower case), `body` (at most `cap` bytes) and `keep` (the connection can carry another
    request). Raises OSError for what is not an HTTP reply, RejectedError for a redirect, and
    UnknownOutcomeError for a 2xx whose body cannot be read (too large, broken chunks)."""

    def __init__(self, cap=REPLY_CAP, keepalive=True, secrets=()):
        self.cap = cap
        self.keepalive = keepalive
        self.secrets = secrets
        self.buf = bytearray()
        self.start = -1  # where the body starts, once the head is in
        self.status = 0
        self.version = None
        self.headers = {}
        self.body = None
        self.keep = False

    def feed(self, data):
        eof = not data
        self.buf += data
        if self.start < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD:
                    raise OSError("reply headers too long")
                if eof:
                    raise OSError("connection closed before the reply" if not self.buf
                                  else "not an HTTP reply")
                return False
            self._head(bytes(self.buf[:end + 2]))
            self.start = end + 4
        if len(self.buf) - self.start > 2 * self.cap + _MAX_HEAD:  # chunk framing included
            return self._broken(ValueError("reply larger than " + str(self.cap) + " bytes"))
        headers = self.headers
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = None if chunked else _int_or_none(headers.get("content-length"))
        have = len(self.buf) - self.start
        if not eof and not chunked and have < (self.cap + 1 if length is None
                                              else min(length, self.cap + 1)):
            return False  # what read_body() asks for is not all here yet
        reader = _Reader(self.buf, self.start, eof)
        try:
            self.body = read_body(reader, headers, self.cap, chunked)
        except _Short:
            return False
        except ValueError as e:
            return self._broken(e)
        self.keep = (self.keepalive and self.version == b"HTTP/1.1" and not eof
                     and reader.pos == len(self.buf)  # nothing unasked after the reply
                     and headers.get("connection", "").lower() != "close"
                     and (length is not None or chunked))
        self.buf = bytearray()
        return True

    def _head(self, head):
        lines = head.split(b"\r\n")
        parts = lines[0].split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise OSError("not an HTTP reply")
        try:
            self.status = int(parts[1])
        except ValueError:  # an OSError, so that it is reported like any broken reply
            raise OSError("not an HTTP reply") from None
        self.version = parts[0]
        if len(lines) > _MAX_HEADERS + 2:
            raise OSError("too many reply headers")
        headers = {}
        for line in lines[1:]:
            take_header(headers, line)
        if "location" in headers:
            from .outcome import redirected

            raise redirected()
        self.headers = headers

    def _broken(self, e):
        if 200 <= self.status < 300:
            from .outcome import unreadable

            raise unreadable(e, self.secrets)
        self.body = b""
        self.keep = False
        self.buf = bytearray()
        return True


def runtime_tls():
    """The TLS module whose SSLContext this runtime's asyncio takes: MicroPython's `tls` on a
    board; CPython's `ssl` on a host, whose asyncio wraps only with a real ssl.SSLContext
    (the host's stand-in of `tls` cannot go there)."""
    import sys

    if sys.implementation.name == "micropython":
        import tls

        return tls
    import ssl

    return ssl


# ---- the coroutine layer

class Connection:
    """HTTP/1.1 over asyncio streams to `po.api_url`, kept open across requests while the
    server allows (`keepalive`). One request at a time: two tasks writing to one stream
    corrupt it. `verify`, `cadata`: as SocketTransport's, but verified by default. `timeout`:
    seconds without progress (default `po.timeout`). `tls`: the module whose SSLContext
    open_connection is given (default: runtime_tls())."""

    def __init__(self, po, verify=True, cadata=None, timeout=None, keepalive=True,
                 reply_cap=REPLY_CAP, tls=None):
        self.po = po
        self.verify = verify
        self.cadata = cadata
        # None: po.timeout. Either is checked here: the watchdog counts it in whole ms, and 0
        # would fire at once (the requests transport hands it to the socket as it is)
        check_seconds("timeout", po.timeout if timeout is None else timeout, 0.1, 3600)
        self.timeout = timeout
        self.keepalive = keepalive
        self.reply_cap = reply_cap
        self.tls = tls
        self.connections = 0  # opened so far (for measurements)
        self._key = None
        self._reader = self._writer = None
        self._last = 0  # ticks_ms of the last progress
        self._fired = False  # the watchdog cancelled the request
        self._sent = 0
        self._length = 0
        self._busy = False

    def __repr__(self):
        return "<aio.Connection " + self.po.api_url + ">"

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()

    def close(self):
        """Close the connection at once, whatever is still unsent (as MicroPython's close()
        does; CPython's would first flush its buffer, so its transport is aborted)."""
        writer = self._writer
        self._reader = self._writer = self._key = None
        if writer is not None:
            try:
                abort = getattr(getattr(writer, "transport", None), "abort", None)
                if abort is not None:
                    abort()
                else:
                    writer.close()
            except Exception:  # already broken: nothing more to free here
                pass

    async def send(self, message, **fields):
        """Check and send one message; a Result, or the PushoverError po.send() would raise."""
        return await self.request("POST", "messages.json",
                                  self.po.form(message, via=self, **fields))

    async def request(self, method, path, form=None):
        """`form` to `api_url/path`, the reply parsed into a Result (or its error)."""
        self._sent = self._length = 0
        status = None
        try:
            secrets = self.po.secrets(form)
            status, headers, body = await self.exchange(method, self.po.api_url + "/" + path,
                                                        form, secrets)
            return parse_reply(status, headers, body, secrets)
        except MemoryError:  # as in Pushover.request: what went out and came back decide
            raise out_of_memory(self._length and self._sent >= self._length, status) from None

    async def exchange(self, method, url, form=None, secrets=()):
        """-> (HTTP status, headers, body), or a PushoverError; one watchdog for it all."""
        import asyncio

        if self._busy:  # two tasks writing to one stream would interleave their bytes
            raise RuntimeError("one request at a time on a Connection: give each task its own")
        tls, host, port, path = _split_url(url)
        timeout = self.po.timeout if self.timeout is None else self.timeout
        self._last = ticks_ms()
        self._fired = False
        dog = asyncio.create_task(self._watch(asyncio.current_task(), int(timeout * 1000)))
        self._busy = True
        try:
            while True:
                try:
                    return await self._exchange(tls, host, port, path, method, form, secrets)
                except _Stale:
                    # the server had closed the idle connection before the request got
                    # through: once more on a new one (it cannot have been acted on)
                    self.close()
                    check_replay(form)
        except asyncio.CancelledError:
            self.close()
            if not self._fired:
                raise  # cancelled by the caller: the connection is closed, the task ends
            uncancel = getattr(asyncio.current_task(), "uncancel", None)
            if uncancel is not None:  # CPython counts cancellations; this one is handled
                uncancel()
            length = 0 if form is None else self._length
            raise failure(OSError("timed out after " + str(timeout) + " s without progress"),
                          self._sent, length, secrets, "network error") from None
        except BaseException:
            self.close()
            raise
        finally:
            self._busy = False
            dog.cancel()

    async def _watch(self, task, timeout_ms):
        """The one watchdog of a request: cancels it once `timeout_ms` pass with no progress."""
        import asyncio

        while True:
            left = timeout_ms - ticks_diff(ticks_ms(), self._last)
            if left <= 0:
                self._fired = True
                task.cancel()
                return
            await asyncio.sleep(left / 1000)

    async def _open(self, tls, host, port):
        """(reader, writer, reused): the kept connection if it is still good, else a new one."""
        import asyncio

        key = (tls, host, port)
        reader, writer = self._reader, self._writer
        if reader is not None and writer is not None and self._key == key and \
                not _closed_while_idle(reader):
            return reader, writer, True
        self.close()
        if tls:
            if self.verify:
                ensure_clock()
            ctx = tls_context(self.tls or runtime_tls(),
                              self.verify and (self.cadata or default_roots()), self.verify)
            # MicroPython puts the handshake off to the first write, where a refused
            # certificate is a ValueError; CPython's asyncio shakes hands here
            reader, writer = await asyncio.open_connection(host, port, ssl=ctx,
                                                           server_hostname=host)
        else:
            reader, writer = await asyncio.open_connection(host, port)
        self._reader, self._writer, self._key = reader, writer, key
        self.connections += 1
        self._last = ticks_ms()
        return reader, writer, False

    async def _exchange(self, tls, host, port, path, method, form, secrets):
        import asyncio

        self._sent = 0
        head = request_head(method, host, path, form, self.keepalive)
        # what could be acted on twice is a body: a GET counts as nothing to send
        self._length = length = 0 if form is None else len(head) + form.length
        try:
            reader, writer, reused = await self._open(tls, host, port)
        except Exception as e:
            raise failure(e, 0, 0, secrets, "cannot connect to " + host) from None
        try:
            chunks = None if form is None else form.chunks(head)
            turn = self._last
            try:
                for chunk in (head,) if chunks is None else chunks:
                    writer.write(chunk)  # what the socket does not take now is copied
                    await writer.drain()
                    self._sent += len(chunk)
                    self._last = now = ticks_ms()
                    if ticks_diff(now, turn) >= _TURN_MS:
                        # MicroPython's drain() always yields, CPython's only when its buffer
                        # is full; and CPython runs a timer that came due only after a few
                        # such turns: so let the other tasks in every few ms
                        await asyncio.sleep(0)
                        turn = ticks_ms()
            finally:
                if chunks is not None:
                    chunks.close()
        except Exception as e:
            if reused and (form is None or self._sent < length) and _nothing_read(e):
                raise _Stale() from None
            self.close()  # before outcome.py loads: the connection's memory is free
            raise failure(e, self._sent, length, secrets, "network error") from None
        try:
            reply = Reply(self.reply_cap, self.keepalive, secrets)
            while not reply.feed(await reader.read(_READ)):
                self._last = ticks_ms()
        except Exception as e:
            if reused and form is None and _nothing_read(e):
                raise _Stale() from None  # a GET is safe to send again
            self.close()  # before outcome.py loads: the connection's memory is free
            raise failure(e, self._sent, length, secrets, "network error") from None
        if not reply.keep:
            self.close()
        return reply.status, reply.headers, reply.body


def _closed_while_idle(reader):
    """Whether the server closed a kept connection (or sent something unasked) while it was
    idle: then it cannot carry a request, and a new one is safe. CPython's reader says so;
    on MicroPython the stream's socket is polled (ipoll allocates nothing)."""
    at_eof = getattr(reader, "at_eof", None)
    if at_eof is not None:
        return at_eof()
    try:
        import select

        poller = select.poll()
        poller.register(reader.s, select.POLLIN)  # pyright: ignore[reportAttributeAccessIssue]
        for _ in poller.ipoll(0):
            return True
    except Exception:  # no select, or a stream poll cannot watch: take it as good
        pass
    return False


def _nothing_sent():
    """The error of an entry point whose heap ran out before anything went out (making its
    Connection, loading a module it builds on): the TemporaryError po.form() gives."""
    return TemporaryError("out of memory: nothing was sent")


def _connection(po, *args, **kw):
    """A Connection, or, on a heap too small for one, _nothing_sent()."""
    try:
        return Connection(po, *args, **kw)
    except MemoryError:
        raise _nothing_sent() from None


async def send(po, message, verify=True, cadata=None, timeout=None, **fields):
    """Check and send one message on a connection of its own; the Result, or the
    PushoverError that po.send() would raise. Nothing is opened for bad input."""
    form = po.form(message, via=Connection, **fields)  # its head goes through the buffer
    conn = _connection(po, verify, cadata, timeout, keepalive=False)
    try:
        return await conn.request("POST", "messages.json", form)
    finally:
        conn.close()


# ---- what a sensor runs in the background

async def receipt_status(conn, receipts, receipt, sleep=None):
    """A receipt's status over `conn`, at least `receipts.interval_ms` after the last poll
    of that Receipts, waiting with asyncio.sleep (or the coroutine function `sleep`)."""
    import asyncio

    from .fields import check_key
    from .receipts import Receipt

    check_key("receipt", receipt)
    wait = receipts.delay_ms()
    if wait:
        await (sleep or asyncio.sleep)(wait / 1000)
    receipts.polled()
    po = conn.po
    result = await conn.request("GET", "receipts/" + receipt + ".json?token=" + po._token)
    return Receipt(result.http_status, result.data, {})


async def wait_receipt(po, receipt, timeout, interval=5, sleep=None, **conn_kw):
    """Receipts.wait() without blocking: poll at most every `interval` (>= 5) seconds until
    acknowledged or expired, or `timeout` seconds passed; the last status. `conn_kw` go to
    Connection (verify, cadata, timeout), one connection kept for all the polls."""
    try:
        from .receipts import Receipts
    except MemoryError:  # loading receipts.py on a full heap
        raise _nothing_sent() from None
    check_seconds("timeout", timeout)
    receipts = Receipts(po, interval)
    start = ticks_ms()
    conn = _connection(po, **conn_kw)
    try:
        while True:
            status = await receipt_status(conn, receipts, receipt, sleep)
            if receipts.finished(status, start, timeout):
                return status
    finally:
        conn.close()


async def flush(queue, po, on_unknown="resend", limit=None, **conn_kw):
    """Queue.flush() by the same rules, over one kept-alive connection (`conn_kw` go to
    Connection); the same tuple."""
    from .errors import PushoverError

    conn = _connection(po, **conn_kw)
    try:
        steps = queue.flushing(on_unknown, limit)
        outcome = None
        while True:
            message, fields = steps.send(outcome)
            try:
                await conn.send(message, **fields)
                outcome = None
            except PushoverError as e:
                outcome = e
            message = fields = None  # freed before the next message is read
    except StopIteration as done:
        return done.value
    except MemoryError:  # reading or marking the log, as in Queue.flush()
        from .queue import _no_heap

        raise _no_heap() from None
    finally:
        conn.close()


async def retry_send(po, message, attempts=5, deadline=600, max_delay=300,
                     on_unknown="resend", sleep=None, verify=True, cadata=None, timeout=None,
                     **fields):
    """retry.send() by the same rules, waiting with asyncio.sleep (or the coroutine
    function `sleep`) between attempts, over one connection kept while the server allows."""
    import asyncio

    from .errors import PushoverError

    try:
        from .retry import start, wait_after
    except MemoryError:  # loading retry.py on a full heap
        raise _nothing_sent() from None
    fields["via"] = Connection  # the form is sent by a Connection, whose head goes through it
    form, waits, elapsed = start(po, message, attempts, deadline, max_delay, on_unknown, None,
                                 fields)
    conn = _connection(po, verify, cadata, timeout)
    try:
        while True:
            try:
                return await conn.request("POST", "messages.json", form)
            except PushoverError as e:
                wait = wait_after(e, form, on_unknown, waits, elapsed(), deadline)
            await (sleep or asyncio.sleep)(wait)
    finally:
        conn.close()
