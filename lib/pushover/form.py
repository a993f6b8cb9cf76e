"""Request bodies, streamed: URL-encoded text, or multipart with one attachment.

A Form knows its content type and exact byte length before the first byte is sent, without
reading the attachment (its size comes from os.stat, len() or the stream), and yields the body
in chunks from one preallocated buffer. In the steady state of an attachment, each chunk is the
same buffer refilled with readinto(): nothing is allocated per chunk.
"""

import os

from micropython import const

from .compat import random_hex
from .errors import FieldError

_MIN_BUF = const(64)
_IS_DIR = const(0x4000)

# 1 for the bytes sent as they are in a URL-encoded value (RFC 3986 unreserved), else 0.
_SAFE = bytearray(256)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~":
    _SAFE[_c] = 1
_HEX = b"0123456789ABCDEF"

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
        "image/bmp": ".bmp"}


def sniff_image(head):
    """The MIME type of an image recognised from its first 12 bytes, or None."""
    for magic, mime in _MAGIC:
        if head[: len(magic)] == magic:
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def safe_filename(name):
    """A filename that cannot break out of its quoted header value (no quotes, CR, LF, '\\')."""
    out = ""
    for c in name[-100:]:
        out += c if ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "._-") else "_"
    return out or "image"


class _MemReader:
    """readinto() over a bytes-like object, copying from it without slicing it as bytes."""

    def __init__(self, data):
        self.mv = memoryview(data)
        self.pos = 0

    def readinto(self, buf):
        k = min(len(buf), len(self.mv) - self.pos)
        buf[:k] = self.mv[self.pos : self.pos + k]
        self.pos += k
        return k

    def close(self):
        pass


class _ReadAdapter:
    """readinto() for a stream that only has read(n)."""

    def __init__(self, stream):
        self.stream = stream

    def readinto(self, buf):
        data = self.stream.read(len(buf))
        if not data:
            return 0
        buf[: len(data)] = data
        return len(data)

    def close(self):
        pass


class Source:
    """Where attachment bytes come from: a file path, a bytes-like object, or a stream.

    The size is known without reading: os.stat() for a path, len() for a buffer, and for a
    stream the `size` given or, when it can seek, its end minus its current position.
    """

    def __init__(self, field, obj, size=None, name=None):
        self.field = field
        self.obj = obj
        self.start = None
        if isinstance(obj, str):
            try:
                st = os.stat(obj)
            except OSError:
                raise FieldError(field, "no file at " + obj) from None
            if st[0] & _IS_DIR:
                raise FieldError(field, "is a folder, not a file: " + obj)
            self.size = st[6]
            if name is None:
                name = obj.rsplit("/", 1)[-1]
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            # len() of a view of wider items counts items, not bytes (seen where memoryview
            # has itemsize, as on CPython; MicroPython's has none, and frames are bytes there)
            if getattr(obj, "itemsize", 1) != 1:
                raise FieldError(field, "a memoryview must be of bytes (itemsize 1)")
            self.size = len(obj)
        elif hasattr(obj, "readinto") or hasattr(obj, "read"):
            try:
                self.start = obj.tell()
                end = obj.seek(0, 2)
                obj.seek(self.start)
            except (AttributeError, OSError, ValueError):
                self.start = None
                end = None
            if size is None:
                if end is None:
                    raise FieldError(field, "a stream that cannot seek needs attachment_size=")
                size = end - self.start
            self.size = size
        else:
            raise FieldError(field, "must be a file path, a bytes-like object or a stream")
        if size is not None and size != self.size:
            raise FieldError("attachment_size", "does not match the data's size", self.size, size)
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise FieldError("attachment_size", "must be a whole number of bytes")
        self.name = name

    @property
    def restartable(self):
        return not hasattr(self.obj, "read") or self.start is not None

    def sniff(self):
        """The image type from the first bytes (reads 12 bytes at most, then rewinds)."""
        obj = self.obj
        if isinstance(obj, str):
            with open(obj, "rb") as f:
                head = f.read(12)
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            head = bytes(memoryview(obj)[:12])
        elif self.start is not None:
            if hasattr(obj, "read"):
                head = obj.read(12)
            else:
                head = bytearray(12)
                head = head[: obj.readinto(head) or 0]
            obj.seek(self.start)
        else:
            raise FieldError("attachment_type", "is needed for a stream that cannot seek")
        mime = sniff_image(head or b"")
        if mime is None:
            raise FieldError(self.field, "is not a JPEG, PNG, GIF, WebP or BMP image; "
                             "give attachment_type= to send it anyway")
        return mime

    def open(self):
        """A reader with readinto() and close(), positioned at the first byte."""
        obj = self.obj
        if isinstance(obj, str):
            return open(obj, "rb")
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return _MemReader(obj)
        if self.start is not None:
            obj.seek(self.start)  # a resend starts from the beginning again
        return obj if hasattr(obj, "readinto") else _ReadAdapter(obj)


def quote(text):
    """`text` percent-encoded as UTF-8, every byte but A-Z a-z 0-9 - _ . ~ escaped (so a '/'
    stays inside one path segment)."""
    out = ""
    for b in text.encode():
        out += chr(b) if _SAFE[b] else "%" + chr(_HEX[b >> 4]) + chr(_HEX[b & 15])
    return out


def _quoted_len(raw):
    n = 0
    for b in raw:
        n += 1 if _SAFE[b] else 3
    return n


class Form:
    """An ordered set of text fields plus at most one attachment, as a streamable body.

    `pairs` is a list of (name, str); `attachment` is None or (field, Source, mime type), as
    made by fields.check(). With no attachment the body is URL-encoded; with one it is
    multipart/form-data with a random boundary (or the one given, for reproducible tests).
    """

    def __init__(self, pairs, attachment=None, bufsize=1024, boundary=None):
        if bufsize < _MIN_BUF:
            raise FieldError("bufsize", "at least " + str(_MIN_BUF), _MIN_BUF, bufsize)
        self.pairs = pairs
        self.attachment = attachment
        self.bufsize = bufsize
        if attachment is None:
            self.content_type = "application/x-www-form-urlencoded"
            length = len(pairs) - 1 if pairs else 0
            for name, value in pairs:
                length += len(name) + 1 + _quoted_len(value.encode())
            self.length = length
            return
        if boundary is not None:  # given for reproducible bodies: it goes into a header
            if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
                raise FieldError("boundary", "must be a str of 1 to 70 characters", 70)
            for c in boundary:
                if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "_-"):
                    raise FieldError("boundary", "may hold only A-Z, a-z, 0-9, _ and -")
        while True:
            b = boundary or "pushover" + random_hex(16)
            if not any(b in value for _, value in pairs):
                break
            if boundary:
                raise FieldError("boundary", "occurs in a field's value")
        self.boundary = b
        self.content_type = "multipart/form-data; boundary=" + b
        field, source, mime = attachment
        size = source.size if field == "attachment" else (source.size + 2) // 3 * 4
        length = size + len(self._attachment_head()) + len(self._tail())
        for name, value in pairs:
            length += len(self._part_head(name)) + len(value.encode()) + 2
        self.length = length

    @property
    def restartable(self):
        """Whether chunks() can produce the body again (for a resend)."""
        return self.attachment is None or self.attachment[1].restartable

    def _part_head(self, name, extra=""):
        return ("--" + self.boundary + '\r\nContent-Disposition: form-data; name="' + name
                + '"' + extra + "\r\n\r\n").encode()

    def _attachment_head(self):
        field, source, mime = self.attachment  # pyright: ignore[reportGeneralTypeIssues] (set)
        if field == "attachment_base64":
            return self._part_head("attachment_type") + mime.encode() + b"\r\n" + self._part_head(
                field)
        name = safe_filename(source.name or "image" + _EXT.get(mime, ".bin"))
        return self._part_head(field, '; filename="' + name + '"\r\nContent-Type: ' + mime)

    def _tail(self):
        return ("\r\n--" + self.boundary + "--\r\n").encode()

    def chunks(self, prefix=None):
        """The body, as chunks that stay valid only until the next one is asked for.

        `prefix` (bytes, e.g. the request head) goes out first through the same buffer, so a
        small request leaves in one write.
        """
        self._buf = buf = bytearray(self.bufsize)
        self._mv = memoryview(buf)
        self._n = 0
        if prefix:
            yield from self._put(prefix)
        if self.attachment is None:
            sep = b""
            for name, value in self.pairs:
                yield from self._put(sep + name.encode() + b"=")
                sep = b"&"
                yield from self._put_quoted(value.encode())
        else:
            for name, value in self.pairs:
                yield from self._put(self._part_head(name))
                yield from self._put(value.encode())
                yield from self._put(b"\r\n")
            yield from self._put(self._attachment_head())
            field, source, _ = self.attachment
            if field == "attachment" and isinstance(source.obj, (bytes, bytearray, memoryview)):
                yield from self._put_buffer(source)
            else:
                reader = source.open()
                try:
                    if field == "attachment":
                        yield from self._put_source(reader, source)
                    else:
                        yield from self._put_base64(reader, source)
                finally:
                    if reader is not source.obj:
                        reader.close()
            yield from self._put(self._tail())
        if self._n:
            yield self._mv[: self._n]
        self._n = 0

    def _put(self, data):
        mv = self._mv
        size = len(mv)
        data = memoryview(data)
        n = self._n
        i = 0
        total = len(data)
        while i < total:
            k = min(size - n, total - i)
            mv[n : n + k] = data[i : i + k]
            n += k
            i += k
            if n == size:
                yield mv
                n = 0
        self._n = n

    def _put_quoted(self, raw):
        buf = self._buf
        limit = len(buf) - 3
        n = self._n
        for b in raw:
            if n > limit:  # room for one escape (3 bytes) before writing
                yield self._mv[:n]
                n = 0
            if _SAFE[b]:
                buf[n] = b
                n += 1
            else:
                buf[n] = 37  # '%'
                buf[n + 1] = _HEX[b >> 4]
                buf[n + 2] = _HEX[b & 15]
                n += 3
        self._n = n

    def _shrank(self, source, remaining):
        return FieldError(source.field, "ended before its size of " + str(source.size)
                          + " bytes", source.size, source.size - remaining)

    def _put_buffer(self, source):
        """A buffer already in RAM (a camera frame) goes out as it is: no copy, and one
        memoryview for the whole attachment rather than one per chunk."""
        if self._n:
            yield self._mv[: self._n]
            self._n = 0
        data = memoryview(source.obj)
        if len(data) < source.size:
            raise self._shrank(source, source.size - len(data))
        if source.size:
            yield data if len(data) == source.size else data[: source.size]

    def _put_source(self, reader, source):
        buf = self._buf
        mv = self._mv
        size = len(buf)
        readinto = reader.readinto
        n = self._n
        remaining = source.size
        if n == 0:
            # steady state: whole buffers, refilled in place, no allocation
            while remaining >= size:
                got = readinto(buf)
                if got != size:
                    n = got or 0
                    remaining -= n
                    if not got:
                        raise self._shrank(source, remaining)
                    break
                remaining -= size
                yield mv
        while remaining:
            want = min(size - n, remaining)
            got = readinto(buf) if want == size else readinto(mv[n : n + want])
            if not got:
                raise self._shrank(source, remaining)
            n += got
            remaining -= got
            if n == size:
                yield mv
                n = 0
        self._n = n

    def _put_base64(self, reader, source):
        from binascii import b2a_base64

        if self._n:
            yield self._mv[: self._n]
            self._n = 0
        mv = self._mv
        raw_size = len(mv) // 4 * 3
        remaining = source.size
        while remaining:
            want = min(raw_size, remaining)
            got = 0
            while got < want:  # a whole multiple of 3, so no padding mid-stream
                k = reader.readinto(mv[got:want])
                if not k:
                    raise self._shrank(source, remaining - got)
                got += k
            remaining -= got
            yield b2a_base64(mv[:got], newline=False)
