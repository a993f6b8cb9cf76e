"""The rarer attachment sources, loaded only when used: a stream (an open file, a socket, a
camera driver's reader), a buffer or a stream sent as Base64 (attachment_base64), and a stream
that has read(n) but no readinto()."""

from .errors import FieldError


def stream_size(field, obj, size=None):
    """-> (size, start) of a stream, an object with readinto() or read(n): the `size` given
    or, when it can seek, its end minus its current position `start`; then a resend starts
    from that position again and the image type can be sniffed. A stream that cannot seek
    has start None."""
    try:
        start = obj.tell()
        end = obj.seek(0, 2)
        obj.seek(start)
    except (AttributeError, OSError, ValueError):
        start = end = None
    if size is None:
        if end is None:
            raise FieldError(field, 28)
        size = end - start
    return size, start


def stream_head(obj, start):
    """The first 12 bytes of a stream that can seek, which is left where it was."""
    if start is None:
        raise FieldError("attachment_type", 32)
    if hasattr(obj, "read"):
        head = obj.read(12)
    else:
        head = bytearray(12)
        head = head[: obj.readinto(head) or 0]
    obj.seek(start)
    return head


def reader_of(obj, start):
    """A reader with readinto() and close(), at the first byte: a buffer (sent as Base64) read
    through a MemReader, a stream from `start` again (a resend starts from the beginning)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return MemReader(obj)
    if start is not None:
        obj.seek(start)
    if hasattr(obj, "readinto"):
        return obj
    return ReadAdapter(obj)


class MemReader:
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


class ReadAdapter:
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


def put_base64(form, reader, field, size):
    """The attachment of `size` bytes from `reader` as Base64, through the form's buffer: a
    whole multiple of 3 bytes each time, so there is no padding mid-stream."""
    from binascii import b2a_base64

    from .attach import shrank

    if form._n:
        yield form._mv[: form._n]
        form._n = 0
    mv = form._mv
    raw_size = len(mv) // 4 * 3
    remaining = size
    while remaining:
        want = min(raw_size, remaining)
        got = 0
        while got < want:
            k = reader.readinto(mv[got:want])
            if not k:
                raise shrank(field, size, remaining - got)
            got += k
        remaining -= got
        yield b2a_base64(mv[:got], newline=False)
