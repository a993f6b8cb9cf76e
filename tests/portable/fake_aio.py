"""A stand-in for the few parts of asyncio that pushover.aio calls, and scripted streams, so
that its coroutine layer runs where there is no asyncio (the WASI build of MicroPython) and
on CPython alike. Nothing here suspends: a coroutine runs to its end on one send(None), and
the watchdog is never started (no time passes), which only a real event loop can show.

    fake = FakeAsyncio([Stream(reply_bytes)])
    result = fake.run(conn.request("POST", "messages.json", form))
"""

import hashlib
import sys


class CancelledError(BaseException):
    pass


class _Task:
    def cancel(self):
        return False


class Stream:
    """Both ends of one connection: write() takes what the library sends (its length, its
    SHA-256, and, from byte `fail_at` on, raises `error`), read(n) gives the reply to the
    request being sent in pieces of at most `piece` bytes, then b"" (the end of the stream).
    Each request gets the next of `replies`, once its first bytes were written, as a server
    answers only what it was asked."""

    def __init__(self, *replies, piece=7, fail_at=None, error=None, keep=False):
        self.replies = list(replies)
        self.reply = b""
        self.piece = piece
        self.fail_at = fail_at
        self.error = error
        self.keep = keep
        self.digest = hashlib.sha256()
        self.length = 0
        self.writes = 0
        self.kept = []
        self.closed = False

    def write(self, data):
        if self.fail_at is not None and self.length + len(data) > self.fail_at:
            raise self.error
        if not self.reply and self.replies:
            self.reply = self.replies.pop(0)
        self.digest.update(data)
        self.length += len(data)
        self.writes += 1
        if self.keep:
            self.kept.append(bytes(data))

    async def drain(self):
        pass

    async def read(self, n):
        piece = self.reply[:min(n, self.piece)]
        self.reply = self.reply[len(piece):]
        return piece

    def close(self):
        self.closed = True

    def sent(self):
        return b"".join(self.kept)


class FakeAsyncio:
    """What `import asyncio` gives pushover.aio while run() is on: open_connection hands out
    `streams` in order and records (host, port, ssl, server_hostname)."""

    CancelledError = CancelledError

    def __init__(self, streams):
        self.streams = list(streams)
        self.opened = []

    def current_task(self):
        return _Task()

    def create_task(self, coro):
        coro.close()  # the watchdog: with no time passing it would never fire
        return _Task()

    async def sleep(self, seconds):
        pass

    async def open_connection(self, host, port, ssl=None, server_hostname=None):
        self.opened.append((host, port, ssl, server_hostname))
        if not self.streams:
            raise OSError("connection refused")
        stream = self.streams.pop(0)
        return stream, stream

    def run(self, coro):
        """Run `coro` to its end with this module as asyncio; its result or its exception."""
        saved = sys.modules.get("asyncio")
        sys.modules["asyncio"] = self  # pyright: ignore[reportArgumentType]
        try:
            while True:
                coro.send(None)
        except StopIteration as done:
            return done.value
        finally:
            if saved is None:
                del sys.modules["asyncio"]
            else:
                sys.modules["asyncio"] = saved


def http_reply(status=200, body=b'{"status":1,"request":"req-1"}', headers=(), chunked=False,
               close=False, version="HTTP/1.1"):
    head = version + " " + str(status) + " X\r\nContent-Type: application/json\r\n"
    for name, value in headers:
        head += name + ": " + value + "\r\n"
    if chunked:
        mid = len(body) // 2
        payload = b""
        for part in (body[:mid], body[mid:]):
            if part:
                payload += ("%x" % len(part)).encode() + b"\r\n" + part + b"\r\n"
        payload += b"0\r\nX-Trailer: 1\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n"
    else:
        payload = body
        head += "Content-Length: " + str(len(body)) + "\r\n"
    head += "Connection: " + ("close" if close else "keep-alive") + "\r\n\r\n"
    return head.encode() + payload
