"""Checks every message field against the API's rules before any socket is opened.

`check()` turns keyword arguments into the ordered (name, text) pairs of the request and the
attachment to stream (checked by attach.py, loaded only when there is one), or raises
FieldError naming the field, the limit and the size. Values of the token and user key never
appear in an error.
"""

from micropython import const

from .errors import FieldError

_MAX_MESSAGE = const(1024)
_MAX_TITLE = const(250)
_MAX_URL = const(512)
_MAX_URL_TITLE = const(100)
_MAX_USERS = const(50)
_KEY_LEN = const(30)
# numbers of the problem texts in texts.py (loaded only when an error is raised)
_P_KEY_LEN = const(0)
_P_KEY_CHARS = const(1)
_P_USERS = const(2)
_P_NOT_STR = const(3)
_P_TOO_LONG = const(4)
_P_BLANK = const(5)
_P_UNICODE = const(6)
_P_NOT_INT = const(7)
_P_LOW = const(8)
_P_HIGH = const(9)
_P_UNKNOWN = const(17)
_P_EMPTY = const(18)

# The optional fields, in the order they go into a body (fixed, so bodies are reproducible),
# and those most sends carry, checked here; the others are checked by options.py
_OPTIONAL = ("title", "url", "url_title", "device", "html", "monospace", "priority", "retry",
             "expire", "callback", "tags", "sound", "timestamp", "ttl")
_COMMON = ("title", "url", "url_title", "priority", "sound")


def _is_key_char(c):
    return "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9"


def check_key(field, value):
    """A token or user/group key: 30 ASCII letters and digits. The value is never echoed."""
    if not isinstance(value, str) or len(value) != _KEY_LEN:
        raise FieldError(field, _P_KEY_LEN, _KEY_LEN,
                         len(value) if isinstance(value, str) else None)
    for c in value:
        if not _is_key_char(c):
            raise FieldError(field, _P_KEY_CHARS)
    return value


def _names(field, value):
    """A list, or a str of names joined by commas, as a list of names."""
    return value if isinstance(value, (list, tuple)) else str_or_fail(field, value).split(",")


def check_users(value):
    """One user/group key, or several joined by commas (or a list): at most 50."""
    keys = _names("user", value)
    if not keys or len(keys) > _MAX_USERS:
        raise FieldError("user", _P_USERS, _MAX_USERS, len(keys))
    for k in keys:
        check_key("user", k)
    return ",".join(keys)


def str_or_fail(field, value):
    if not isinstance(value, str):
        raise FieldError(field, _P_NOT_STR, what=type(value).__name__)
    return value


def check_text(field, value, limit, required=False):
    """Text up to `limit` characters (code points, not bytes)."""
    str_or_fail(field, value)
    if len(value) > limit:
        raise FieldError(field, _P_TOO_LONG, limit, len(value))
    if required and not value.strip():
        raise FieldError(field, _P_BLANK)
    try:
        value.encode("utf-8")
    except UnicodeError:  # CPython only: a lone surrogate cannot be sent
        raise FieldError(field, _P_UNICODE) from None
    return value


def check_int(field, value, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, _P_NOT_INT, what=type(value).__name__)
    if low is not None and value < low:
        raise FieldError(field, _P_LOW, low, value)
    if high is not None and value > high:
        raise FieldError(field, _P_HIGH, high, value)
    return value


def check(message, fields, keys=(), user=""):
    """Message and keyword fields -> (pairs, attachment); see the module docstring.

    `attachment` is None or the tuple attach.check() makes (see attach.py). The fields
    most sends do not carry are checked by options.py, loaded only when one is given.
    `keys` and `user` (the token and user keys) are for attach.check: an error there that
    echoes a path never echoes a key given as one.
    """
    get = fields.get
    attached = False
    rare = False
    for name in fields:
        if name.startswith("attachment"):  # attach.check() knows which ones exist
            attached = True
        elif name not in _OPTIONAL:
            raise FieldError(name, _P_UNKNOWN)
        elif name not in _COMMON:
            rare = True
    pairs = [("message", check_text("message", message, _MAX_MESSAGE, True))]
    priority = get("priority")
    if priority is not None:
        check_int("priority", priority, -2, 2)
    options = None
    if rare or priority == 2:
        from . import options

        options.check_rules(fields, priority)
    for name in _OPTIONAL:
        value = get(name)
        if value is None:
            continue
        if name in _COMMON:
            if name != "priority":  # title, url, url_title, sound
                value = check_text(name, value, _MAX_TITLE if name == "title" else
                                   _MAX_URL_TITLE if name == "url_title" else _MAX_URL)
                if not value and name == "sound":
                    raise FieldError(name, _P_EMPTY)
        else:
            value = options.checked(name, value)  # pyright: ignore[reportOptionalMemberAccess]
            if value is None:
                continue
        pairs.append((name, str(value)))
    if not attached:
        return pairs, None
    from .attach import check as check_attachment

    return pairs, check_attachment(fields, keys, user)
