"""Request bodies, streamed from one buffer: URL-encoded text here; multipart with an
attachment in attach.py, which only a send that has one loads.

A Form knows its content type and exact byte length before the first byte is sent, computed
without building the body, and yields the body in chunks from one buffer allocated when the
Form is made (before the transport opens a socket, so the socket's buffers cannot cut up the
heap the body buffer needs).
"""

from micropython import const

from .errors import FieldError

_MIN_BUF = const(64)
_HEAD_ROOM = const(256)  # a request head as sock.py and aio.py write it, with room
_HEX = b"0123456789ABCDEF"


def _safe(b):
    """Whether byte `b` goes into a URL-encoded value as it is (RFC 3986 unreserved)."""
    return 97 <= b <= 122 or 65 <= b <= 90 or 48 <= b <= 57 or b in b"-_.~"


class Form:
    """Ordered (name, str) pairs as an application/x-www-form-urlencoded body."""

    content_type = "application/x-www-form-urlencoded"
    restartable = True  # chunks() can produce the body again (for a resend)

    def __init__(self, pairs, bufsize=1024, spare=None, room=None):
        self.pairs = pairs
        n = len(pairs) - 1
        for name, value in pairs:
            n += len(name) + 1
            for b in value.encode():
                n += 1 if _safe(b) else 3
        self.length = n
        self._buffer(bufsize, spare, room)

    def _buffer(self, bufsize, spare, room):
        """The one buffer: `spare` (a bytearray the Pushover made once, lent for this body),
        else one no larger than the body plus `room` for a request head (default 256: the
        socket transports send theirs through it; the requests transport, which does not,
        says 0), so that a short message does not hold a whole bufsize. Two bytes more than
        that: _body() flushes when fewer than three are left for the next byte's escape, and
        a body that fits goes out as one chunk (one write, one TLS record), not two."""
        if bufsize < _MIN_BUF:
            raise FieldError("bufsize", 8, _MIN_BUF, bufsize)  # texts.py: at least 64
        room = _HEAD_ROOM if room is None else room
        size = min(bufsize, self.length + room + 2)
        try:
            self._buf = spare or bytearray(size)
        except MemoryError:  # before any I/O: a PushoverError that says which block
            if size < bufsize:
                raise  # not bufsize but the heap: Pushover.form() says so
            raise FieldError("bufsize", 38, size) from None  # texts.py: no free block
        self._mv = memoryview(self._buf)
        self._n = 0

    def chunks(self, prefix=None):
        """The body, as chunks that stay valid only until the next one is asked for.

        `prefix` (bytes, e.g. the request head) goes out first through the same buffer, so a
        small request leaves in one write.
        """
        self._n = 0
        if prefix:
            yield from self._put(prefix)
        yield from self._body()
        if self._n:
            yield self._mv[: self._n]
        self._n = 0

    def _body(self):
        # written straight into the buffer: "&name=" as it is (a name is short, so after at
        # most one flush it fits), then the value escaped, with room for one escape each time
        buf = self._buf
        size = len(buf)
        limit = size - 3
        n = self._n
        sep = 0  # no "&" before the first name
        for name, value in self.pairs:
            raw = name.encode()
            k = len(raw)
            if n + sep + k + 1 > size:
                yield self._mv[:n]
                n = 0
            if sep:
                buf[n] = 38  # '&'
            n += sep
            self._mv[n : n + k] = raw  # a view: it cannot grow the buffer as a bytearray would
            buf[n + k] = 61  # '='
            n += k + 1
            sep = 1
            for b in value.encode():
                if n > limit:
                    yield self._mv[:n]
                    n = 0
                if _safe(b):
                    buf[n] = b
                    n += 1
                else:
                    buf[n] = 37  # '%'
                    buf[n + 1] = _HEX[b >> 4]
                    buf[n + 2] = _HEX[b & 15]
                    n += 3
        self._n = n

    def _put(self, *pieces):
        """Copy bytes-like `pieces` into the buffer, yielding it each time it is full: one
        generator for a whole part head, and no copy or view of a piece that fits."""
        mv = self._mv
        size = len(mv)
        n = self._n
        for data in pieces:
            total = len(data)
            if n + total < size:
                mv[n : n + total] = data
                n += total
                continue
            data = memoryview(data)
            i = 0
            while i < total:
                k = min(size - n, total - i)
                mv[n : n + k] = data[i : i + k]
                n += k
                i += k
                if n == size:
                    yield mv
                    n = 0
        self._n = n
