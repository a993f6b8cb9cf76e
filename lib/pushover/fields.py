"""Checks every message field against the API's rules before any socket is opened.

`check()` turns keyword arguments into the ordered (name, text) pairs of the request and the
attachment to stream, or raises FieldError naming the field, the limit and the size. Values of
the token and user key never appear in an error.
"""

from micropython import const

from .compat import unix_time
from .errors import FieldError

MAX_ATTACHMENT = const(5242880)
_MAX_MESSAGE = const(1024)
_MAX_TITLE = const(250)
_MAX_URL = const(512)
_MAX_URL_TITLE = const(100)
_MAX_DEVICE = const(25)
_MAX_USERS = const(50)
_MIN_RETRY = const(30)
_MAX_EXPIRE = const(10800)
_KEY_LEN = const(30)

# Order of the optional fields in a request body (fixed, so bodies are reproducible).
_OPTIONAL = (
    "title", "url", "url_title", "device", "html", "monospace", "priority", "retry", "expire",
    "callback", "tags", "sound", "timestamp", "ttl",
)
_ATTACH_ONLY = ("attachment", "attachment_base64", "attachment_type", "attachment_name",
                "attachment_size")


def _is_key_char(c):
    return "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9"


def _is_device_char(c):
    return _is_key_char(c) or c == "_" or c == "-"


def check_key(field, value):
    """A token or user/group key: 30 ASCII letters and digits. The value is never echoed."""
    if not isinstance(value, str):
        raise FieldError(field, "must be a str of " + str(_KEY_LEN) + " letters and digits")
    if len(value) != _KEY_LEN:
        raise FieldError(field, "must be exactly 30 letters and digits", _KEY_LEN, len(value))
    for c in value:
        if not _is_key_char(c):
            raise FieldError(field, "may hold only the letters A-Z, a-z and digits 0-9")
    return value


def check_users(value):
    """One user/group key, or several joined by commas (or a list): at most 50."""
    keys = value if isinstance(value, (list, tuple)) else str_or_fail("user", value).split(",")
    if not keys:
        raise FieldError("user", "needs at least one user key")
    if len(keys) > _MAX_USERS:
        raise FieldError("user", "at most 50 user keys", _MAX_USERS, len(keys))
    for k in keys:
        check_key("user", k)
    return ",".join(keys)


def str_or_fail(field, value):
    if not isinstance(value, str):
        raise FieldError(field, "must be a str, not " + type(value).__name__)
    return value


def check_text(field, value, limit, required=False):
    """Text up to `limit` characters (code points, not bytes)."""
    str_or_fail(field, value)
    if len(value) > limit:
        raise FieldError(field, "at most " + str(limit) + " characters", limit, len(value))
    if required and not value.strip():
        raise FieldError(field, "may not be empty or blank")
    try:
        value.encode("utf-8")
    except UnicodeError:  # CPython only: a lone surrogate cannot be sent
        raise FieldError(field, "is not valid Unicode text") from None
    return value


def check_int(field, value, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, "must be an int, not " + type(value).__name__)
    if low is not None and value < low:
        raise FieldError(field, "at least " + str(low), low, value)
    if high is not None and value > high:
        raise FieldError(field, "at most " + str(high), high, value)
    return value


def check_devices(value):
    names = value if isinstance(value, (list, tuple)) else str_or_fail("device", value).split(",")
    if not names:
        raise FieldError("device", "needs at least one device name")
    for name in names:
        str_or_fail("device", name)
        if not 1 <= len(name) <= _MAX_DEVICE:
            raise FieldError("device", "each name 1 to 25 characters", _MAX_DEVICE, len(name))
        for c in name:
            if not _is_device_char(c):
                raise FieldError("device", "names may hold only A-Z, a-z, 0-9, _ and -")
    return ",".join(names)


def _flag(field, value):
    if value in (True, False, 0, 1):
        return 1 if value else 0
    raise FieldError(field, "must be True/False or 1/0")


def check_mime(value):
    """A MIME type such as image/jpeg: one '/', no spaces, quotes or line breaks."""
    str_or_fail("attachment_type", value)
    main, _, sub = value.partition("/")
    if not main or not sub or len(value) > 100:
        raise FieldError("attachment_type", "must be a MIME type such as image/jpeg")
    for c in value:
        if not (_is_device_char(c) or c in "/.+"):
            raise FieldError("attachment_type", "must be a MIME type such as image/jpeg")
    return value


def check(message, fields):
    """Message and keyword fields -> (pairs, attachment); see the module docstring.

    `attachment` is None or (field name, Source, MIME type); the field name is "attachment"
    (binary part) or "attachment_base64" (Base64 text part).
    """
    for name in fields:
        if name not in _OPTIONAL and name not in _ATTACH_ONLY:
            raise FieldError(name, "is not a message field of the Pushover API")
    pairs = [("message", check_text("message", message, _MAX_MESSAGE, True))]
    get = fields.get
    priority = get("priority")
    if priority is not None:
        check_int("priority", priority, -2, 2)
    html = _flag("html", get("html", 0))
    mono = _flag("monospace", get("monospace", 0))
    if html and mono:
        raise FieldError("html", "cannot be combined with monospace")
    if priority == 2:
        for name in ("retry", "expire"):
            if get(name) is None:
                raise FieldError(name, "is required with priority 2")
        check_int("retry", get("retry"), _MIN_RETRY)
        check_int("expire", get("expire"), 1, _MAX_EXPIRE)
    else:
        for name in ("retry", "expire", "callback", "tags"):
            if get(name) is not None:
                raise FieldError(name, "is only used with priority 2")

    for name in _OPTIONAL:
        value = get(name)
        if value is None or (name in ("html", "monospace") and not value):
            continue
        if name == "title":
            value = check_text(name, value, _MAX_TITLE)
        elif name == "url":
            value = check_text(name, value, _MAX_URL)
        elif name == "url_title":
            value = check_text(name, value, _MAX_URL_TITLE)
        elif name == "device":
            value = check_devices(value)
        elif name in ("html", "monospace"):
            value = 1
        elif name == "timestamp":
            if isinstance(value, float):  # time.time() is a float on some ports
                value = int(value)
            value = unix_time(check_int(name, value, 0))
        elif name == "ttl":
            check_int(name, value, 1)
        elif name in ("priority", "retry", "expire"):
            pass  # checked above
        elif name == "tags":
            if isinstance(value, (list, tuple)):
                for tag in value:
                    str_or_fail(name, tag)
                value = ",".join(value)
            value = check_text(name, value, _MAX_URL)
        else:  # callback, sound
            value = check_text(name, value, _MAX_URL)
            if not value:
                raise FieldError(name, "may not be empty")
        pairs.append((name, str(value)))

    return pairs, _check_attachment(fields, get)


def _check_attachment(fields, get):
    binary = get("attachment")
    b64 = get("attachment_base64")
    mime = get("attachment_type")
    if binary is None and b64 is None:
        for name in ("attachment_type", "attachment_name", "attachment_size"):
            if get(name) is not None:
                raise FieldError(name, "needs an attachment")
        return None
    if binary is not None and b64 is not None:
        raise FieldError("attachment_base64", "cannot be combined with attachment")
    field = "attachment" if b64 is None else "attachment_base64"
    if field == "attachment_base64" and mime is None:
        raise FieldError("attachment_type", "is required with attachment_base64")
    name = get("attachment_name")
    if name is not None:
        check_text("attachment_name", name, 255)
    from .form import Source

    source = Source(field, binary if b64 is None else b64, get("attachment_size"),
                    get("attachment_name"))
    if source.size > MAX_ATTACHMENT:
        raise FieldError(field, "at most 5242880 bytes", MAX_ATTACHMENT, source.size)
    if mime is None:
        mime = source.sniff()
    return field, source, check_mime(mime)
