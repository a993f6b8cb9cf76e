"""The attachment path, loaded only by a send that has one: where the bytes come from (a file
path or a bytes-like object here; a stream in streams.py), what image they are, and the
multipart/form-data body that carries them.

An attachment is the tuple check() makes: (field, obj, MIME type, size, name, start). `field`
is "attachment" (a binary part) or "attachment_base64" (a Base64 text part); `start` is where
a stream's bytes begin (None: a stream that cannot seek, so it cannot be sent twice), 0 for a
path or a buffer. Plain values rather than a class of sources: on the board each class and
method of a module loaded from .mpy costs heap on top of its bytecode.

Its error texts are numbers into texts.py (loaded when one is raised). Every length is
computed, never measured by building: os.stat() of a path, len() of a buffer, the declared
size of a stream, and the part heads' sizes from pieces made once. In the steady state of a
file or stream each chunk is the one buffer refilled with readinto(): nothing is allocated per
chunk; a buffer already in RAM goes out as one memoryview of itself.
"""

import os

from micropython import const

from .errors import FieldError
from .form import Form

MAX_ATTACHMENT = const(5242880)
_IS_DIR = const(0x4000)
_MAX_NAME = const(255)
_FIELDS = ("attachment", "attachment_base64", "attachment_type", "attachment_name",
           "attachment_size")
# the fixed text of a part head around its name: --B\r\n + _DISPOSITION + name + '"' ...
_DISPOSITION = '\r\nContent-Disposition: form-data; name="'
_BUFFERS = (bytes, bytearray, memoryview)


def _is_word(c):
    return "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c == "_" or c == "-"


def safe_filename(name):
    """A filename that cannot break out of its quoted header value (no quotes, CR, LF, '\\')."""
    out = bytearray()
    for c in name[-100:]:
        out.append(ord(c) if _is_word(c) or c == "." else 95)  # '_'
    return out.decode() or "image"


def check(fields, keys=(), user=""):
    """The attachment fields of a message's `fields` -> None, or the attachment tuple (see
    the module docstring). Raises FieldError, before any I/O; one that names a path names
    no key of `keys` or of the comma-joined `user` (a key given as a path by mistake)."""
    for name in fields:
        if name.startswith("attachment") and name not in _FIELDS:
            raise FieldError(name, 17)  # texts.py: is not a message field of the API
    get = fields.get
    binary = get("attachment")
    b64 = get("attachment_base64")
    mime = get("attachment_type")
    if binary is None and b64 is None:
        for name in ("attachment_type", "attachment_name", "attachment_size"):
            if get(name) is not None:
                raise FieldError(name, 21)
        return None
    if binary is not None and b64 is not None:
        raise FieldError("attachment_base64", 22)
    field = "attachment" if b64 is None else "attachment_base64"
    if b64 is not None and mime is None:
        raise FieldError("attachment_type", 23)
    name = get("attachment_name")
    if name is not None:
        from .fields import check_text

        check_text("attachment_name", name, _MAX_NAME)
    obj = binary if b64 is None else b64
    given = get("attachment_size")
    if given is not None and (isinstance(given, bool) or not isinstance(given, int)):
        raise FieldError("attachment_size", 31)  # not echoed: it could be anything, a key too
    start = 0
    if isinstance(obj, str):
        try:
            st = os.stat(obj)
        except (OSError, ValueError):  # CPython: ValueError for a NUL, a lone surrogate
            raise _path_error(field, 25, obj, keys, user) from None
        if st[0] & _IS_DIR:
            raise _path_error(field, 26, obj, keys, user)
        size = st[6]
        if name is None:
            name = obj.rsplit("/", 1)[-1]
    elif isinstance(obj, _BUFFERS):
        # len() of a view of wider items counts items, not bytes (seen where memoryview
        # has itemsize, as on CPython; MicroPython's has none, and frames are bytes there)
        if getattr(obj, "itemsize", 1) != 1:
            raise FieldError(field, 27)
        size = len(obj)
    elif hasattr(obj, "readinto") or hasattr(obj, "read"):
        from .streams import stream_size

        size, start = stream_size(field, obj, given)
    else:
        raise FieldError(field, 29)
    if given is not None and given != size:
        raise FieldError("attachment_size", 30, size, given)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise FieldError("attachment_size", 31)
    if size > MAX_ATTACHMENT:
        raise FieldError(field, 24, MAX_ATTACHMENT, size)
    if mime is None:
        mime = sniff(field, obj, start)
    # a MIME type such as image/jpeg: something on each side of a '/', no spaces, quotes or
    # line breaks (loops rather than all() over a generator: each is code loaded on the board)
    ok = isinstance(mime, str) and 0 < mime.find("/") < len(mime) - 1 and len(mime) <= 100
    if ok:
        for c in mime:
            if not (_is_word(c) or c in "/.+"):
                ok = False
    if not ok:
        raise FieldError("attachment_type", 20)
    return field, obj, mime, size, name, start


def _path_error(field, code, path, keys, user):
    """FieldError `code`, which shows `path` unless a key is in it (given as a path by
    mistake: an error text never holds a key)."""
    for key in list(keys) + user.split(","):
        if key and key in path:
            path = "(a key, not a path)"
    return FieldError(field, code, what=path)


def sniff(field, obj, start):
    """The image type told by the first 12 bytes: JPEG, PNG, GIF, BMP or WebP."""
    if isinstance(obj, str):
        with open(obj, "rb") as f:
            head = f.read(12)
    elif isinstance(obj, _BUFFERS):
        head = bytes(memoryview(obj)[:12])
    else:
        from .streams import stream_head

        head = stream_head(obj, start)
    head = head or b""
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:2] == b"BM":
        return "image/bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    raise FieldError(field, 33)


class Multipart(Form):
    """Text fields plus one attachment as multipart/form-data with a random boundary (or the
    one given, for reproducible tests). `attachment` is the tuple check() makes."""

    def __init__(self, pairs, attachment, bufsize=1024, boundary=None, spare=None):
        b = "" if boundary is None else boundary
        if boundary is not None:  # given for reproducible bodies (options.py checks it)
            from .options import check_boundary

            check_boundary(b, pairs)
        taken = boundary is None
        while taken:  # a random boundary, made again in the unlikely case a value holds it
            try:
                from binascii import hexlify

                b = "pushover" + hexlify(os.urandom(16)).decode()
            except (AttributeError, OSError):  # a port without a random source
                from .options import pseudo_random_boundary

                b = pseudo_random_boundary()
            taken = False
            for _, value in pairs:
                if b in value:
                    taken = True
        self.pairs = pairs
        self.attachment = attachment
        self.boundary = b
        self.content_type = "multipart/form-data; boundary=" + b
        field, obj, mime, size, name, start = attachment
        self.restartable = start is not None
        # made once, kept for the send: what opens every part head (--B and the disposition
        # up to the name) and what follows the attachment part's name
        self._open = ("--%s%s" % (b, _DISPOSITION)).encode()
        if field == "attachment":
            sub = mime[6:] if mime.startswith("image/") else ""
            ext = ("jpg" if sub == "jpeg" else
                   sub if sub in ("png", "gif", "webp", "bmp") else "bin")
            name = safe_filename(name or "image." + ext)
            self._after = ('; filename="%s"\r\nContent-Type: %s' % (name, mime)).encode()
        else:
            self._after = b""
        # a part head is the opening, the name, '"', what follows the name, \r\n\r\n; each
        # text part ends in \r\n; the tail is \r\n--B--\r\n
        head = len(self._open) + 1 + 4
        n = 0
        for name, value in pairs:
            n += head + len(name) + len(value.encode()) + 2
        if field == "attachment":
            n += head + len(field) + len(self._after) + size
        else:
            n += (head + len("attachment_type") + len(mime) + 2 + head + len(field)
                  + (size + 2) // 3 * 4)
        self.length = n + 2 + 2 + len(b) + 4
        self._buffer(bufsize, spare, None)

    def _body(self):
        # every text part and the attachment's head, as pieces copied by one _put
        op = self._open
        pieces = []
        for name, value in self.pairs:
            pieces += (op, name.encode(), b'"\r\n\r\n', value.encode(), b"\r\n")
        field, obj, mime, size, _, start = self.attachment
        if field == "attachment_base64":
            pieces += (op, b'attachment_type"\r\n\r\n', mime.encode(), b"\r\n")
        pieces += (op, field.encode(), b'"', self._after, b"\r\n\r\n")
        yield from self._put(*pieces)
        del pieces
        if field == "attachment" and isinstance(obj, _BUFFERS):
            # a buffer already in RAM (a camera frame) goes out as it is: no copy, and one
            # memoryview for the whole attachment rather than one per chunk
            if self._n:
                yield self._mv[: self._n]
                self._n = 0
            data = memoryview(obj)
            if len(data) < size:
                raise shrank(field, size, size - len(data))
            if size:
                yield data if len(data) == size else data[:size]
        else:
            if isinstance(obj, str):
                reader = open(obj, "rb")
            else:  # a stream, or a buffer sent as Base64
                from .streams import reader_of

                reader = reader_of(obj, start)
            try:
                if field == "attachment":
                    yield from self._put_from(reader, field, size)
                else:
                    from .streams import put_base64

                    yield from put_base64(self, reader, field, size)
            finally:
                if reader is not obj:
                    reader.close()
        yield from self._put(b"\r\n", self._open[:-len(_DISPOSITION)], b"--\r\n")

    def _put_from(self, reader, field, size):
        buf = self._buf
        mv = self._mv
        full = len(buf)
        readinto = reader.readinto
        n = self._n
        remaining = size
        if n == 0:
            # steady state: whole buffers, refilled in place, no allocation
            while remaining >= full:
                got = readinto(buf)
                if got != full:
                    n = got or 0
                    remaining -= n
                    if not got:
                        raise shrank(field, size, remaining)
                    break
                remaining -= full
                yield mv
        while remaining:
            want = min(full - n, remaining)
            got = readinto(buf) if want == full else readinto(mv[n : n + want])
            if not got:
                raise shrank(field, size, remaining)
            n += got
            remaining -= got
            if n == full:
                yield mv
                n = 0
        self._n = n


def shrank(field, size, remaining):
    """The error of a source that ended `remaining` bytes before its size."""
    return FieldError(field, 37, size, size - remaining)
