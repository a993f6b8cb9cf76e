"""A chunked reply body, decoded from a stream with readline() and read(n): the socket
transport's, and the firmware's requests before 1.1 when a server writes the header in a case
that requests does not match. Loaded only when a reply is chunked."""

from micropython import const

from .http import _read_upto

_MAX_TRAILERS = const(16)


def _size(raw):
    return int(raw.readline().split(b";")[0].strip(), 16)


def dechunk(raw, cap):
    """At most `cap` bytes of body; ValueError if larger or malformed. Reads the trailer up to
    the empty line that ends it: left unread, it would be taken for the next reply on a
    kept-alive connection."""
    body = b""
    size = _size(raw)
    while size:
        if len(body) + size > cap:
            raise ValueError("reply larger than " + str(cap) + " bytes")
        body += _read_upto(raw, size)
        raw.readline()  # the CRLF after the chunk
        size = _size(raw)
    for _ in range(_MAX_TRAILERS):
        line = raw.readline()
        if not line or line == b"\r\n" or line == b"\n":
            return body
    raise ValueError("too many trailer lines after a chunked reply")
