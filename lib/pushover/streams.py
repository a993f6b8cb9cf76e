"""The rarer attachment sources, loaded only when used: a buffer or a stream sent as Base64
(attachment_base64), and a stream that has read(n) but no readinto()."""


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
