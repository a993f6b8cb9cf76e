"""The message fields most sends do not carry, checked here and loaded only by a send that has
one (fields.py checks the others): device, html and monospace, the emergency fields retry,
expire, callback and tags, timestamp and ttl; and a multipart boundary given to form() for a
reproducible body. Errors name the field and the limit, as in fields.py, with the same
numbered texts (texts.py)."""

from micropython import const

from .errors import FieldError
from .fields import _is_key_char, _names, check_int, check_text, str_or_fail

_MAX_DEVICE = const(25)
_MAX_TEXT = const(512)
_MIN_RETRY = const(30)
_MAX_EXPIRE = const(10800)
# numbers of the problem texts in texts.py
_P_NOT_INT = const(7)
_P_NO_DEVICE = const(10)
_P_DEVICE_LEN = const(11)
_P_DEVICE_CHARS = const(12)
_P_FLAG = const(13)
_P_HTML_MONO = const(14)
_P_REQUIRED = const(15)
_P_ONLY_P2 = const(16)
_P_EMPTY = const(18)
_P_BOUNDARY_LEN = const(34)
_P_BOUNDARY_CHARS = const(35)
_P_BOUNDARY_IN_VALUE = const(36)


def check_devices(value):
    """One device name, several joined by commas, or a list: each 1 to 25 of A-Z a-z 0-9 _ -."""
    names = _names("device", value)
    if not names:
        raise FieldError("device", _P_NO_DEVICE)
    for name in names:
        str_or_fail("device", name)
        if not 1 <= len(name) <= _MAX_DEVICE:
            raise FieldError("device", _P_DEVICE_LEN, _MAX_DEVICE, len(name))
        for c in name:
            if not (_is_key_char(c) or c == "_" or c == "-"):
                raise FieldError("device", _P_DEVICE_CHARS)
    return ",".join(names)


def _flag(field, value):
    if value in (True, False, 0, 1):
        return 1 if value else 0
    raise FieldError(field, _P_FLAG)


def check_rules(fields, priority):
    """The rules between fields: html or monospace, not both; retry and expire required with
    priority 2, and retry, expire, callback and tags given only with it."""
    get = fields.get
    html = _flag("html", get("html", 0))
    if _flag("monospace", get("monospace", 0)) and html:
        raise FieldError("html", _P_HTML_MONO)
    for name in ("retry", "expire", "callback", "tags"):
        if priority == 2:
            if name in ("retry", "expire") and get(name) is None:
                raise FieldError(name, _P_REQUIRED)
        elif get(name) is not None:
            raise FieldError(name, _P_ONLY_P2)


def checked(name, value):
    """The value one of these fields is sent with, or None for a flag that is off."""
    if name == "html" or name == "monospace":
        return 1 if value else None
    if name == "device":
        return check_devices(value)
    if name == "retry":
        return check_int(name, value, _MIN_RETRY)
    if name == "expire":
        return check_int(name, value, 1, _MAX_EXPIRE)
    if name == "ttl":
        return check_int(name, value, 1)
    if name == "timestamp":
        if isinstance(value, float):  # time.time() is a float on some ports
            try:
                value = int(value)
            except (OverflowError, ValueError):  # inf, nan
                raise FieldError(name, _P_NOT_INT, what="float") from None
        from .compat import unix_time

        return unix_time(check_int(name, value, 0))
    # callback, tags
    if name == "tags" and isinstance(value, (list, tuple)):
        for tag in value:
            str_or_fail(name, tag)
        value = ",".join(value)
    value = check_text(name, value, _MAX_TEXT)
    if not value and name == "callback":
        raise FieldError(name, _P_EMPTY)
    return value


def pseudo_random_boundary():
    """A multipart boundary from `random`, for a port without os.urandom (attach.py)."""
    from random import getrandbits

    return "pushover%x%x%x%x" % (getrandbits(32), getrandbits(32), getrandbits(32),
                                 getrandbits(32))


def check_boundary(boundary, pairs):
    """A boundary given for a reproducible body: it goes into a header, so 1 to 70 of A-Z a-z
    0-9 _ -, and it may not occur in a field's value."""
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise FieldError("boundary", _P_BOUNDARY_LEN, 70)
    for c in boundary:
        if not (_is_key_char(c) or c == "_" or c == "-"):
            raise FieldError("boundary", _P_BOUNDARY_CHARS)
    for _, value in pairs:
        if boundary in value:
            raise FieldError("boundary", _P_BOUNDARY_IN_VALUE)
