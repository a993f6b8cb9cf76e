"""The rarer attachment sources, loaded only when used: a stream (an open file, a socket, a
camera driver's reader), a buffer or a stream sent as Base64 (attachment_base64), and a stream
that has read(n) but no readinto()."""

from .attach import Source
from .errors import FieldError


class StreamSource(Source):
    """An object with readinto() or read(n). Its size is the `size` given or, when it can
    seek, its end minus its current position; then a resend starts from that position again
    (`restartable`) and the image type can be sniffed."""

    def __init__(self, field, obj, size=None, name=None):
        self.field = field
        self.obj = obj
        self.name = name
        try:
            self.start = obj.tell()
            end = obj.seek(0, 2)
            obj.seek(self.start)
        except (AttributeError, OSError, ValueError):
            self.start = None
            end = None
        if size is None:
            if end is None:
                raise FieldError(field, 28)
            size = end - self.start
        self.size = size
        self.check_size(size)
        self.restartable = self.start is not None

    def head(self):
        obj = self.obj
        if self.start is None:
            raise FieldError("attachment_type", 32)
        if hasattr(obj, "read"):
            head = obj.read(12)
        else:
            head = bytearray(12)
            head = head[: obj.readinto(head) or 0]
        obj.seek(self.start)
        return head

    def open(self):
        obj = self.obj
        if self.start is not None:
            obj.seek(self.start)  # a resend starts from the beginning again
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


def put_base64(form, reader, source):
    from binascii import b2a_base64

    if form._n:
        yield form._mv[: form._n]
        form._n = 0
    mv = form._mv
    raw_size = len(mv) // 4 * 3
    remaining = source.size
    while remaining:
        want = min(raw_size, remaining)
        got = 0
        while got < want:  # a whole multiple of 3, so no padding mid-stream
            k = reader.readinto(mv[got:want])
            if not k:
                raise form._shrank(source, remaining - got)
            got += k
        remaining -= got
        yield b2a_base64(mv[:got], newline=False)
