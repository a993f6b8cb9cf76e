"""The API's rules as plain functions: fields in (decoded text), errors out. No HTTP here.

Every check follows SPEC.md section 1 and the real Pushover as its clients meet it: what it
takes is taken, what it refuses is refused, with an error per bad field in the Pushover shape
(`{"<field>": "invalid", "errors": [...], "status": 0}`).

Choices where SPEC.md leaves room (each one also a row in tests/api_cases.py):

* `html` and `monospace`: "1" and "true" turn the option on, "0" and "false" leave it off (any
  case: `requests` sends Python's `True`/`False` as text, and clients such as pushover-complete
  send `html=False` on every message); anything else is refused.
* `retry`/`expire`/`callback`/`tags` are ignored below priority 2, `ttl` at priority 2.
* An attachment part needs a filename; its type is its `Content-Type` when that is an image
  type, else (no `Content-Type`, as `requests` sends for `files={"attachment": (name, f)}`)
  what its first bytes or its file name show. A part that is not an image is refused.
* An empty optional field counts as absent (`title=` is like no title).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re

MAX_ATTACHMENT = 5_242_880
MAX_USERS = 50
TEXT_LIMITS = (("title", 250), ("url", 512), ("url_title", 100))
MAX_MESSAGE = 1024
MIN_RETRY = 30
MAX_EXPIRE = 10800
GLANCE_TEXT = 100

SOUNDS = {
    "pushover": "Pushover (default)", "bike": "Bike", "bugle": "Bugle",
    "cashregister": "Cash Register", "classical": "Classical", "cosmic": "Cosmic",
    "falling": "Falling", "gamelan": "Gamelan", "incoming": "Incoming",
    "intermission": "Intermission", "magic": "Magic", "mechanical": "Mechanical",
    "pianobar": "Piano Bar", "siren": "Siren", "spacealarm": "Space Alarm",
    "tugboat": "Tug Boat", "alien": "Alien Alarm (long)", "climb": "Climb (long)",
    "persistent": "Persistent (long)", "echo": "Pushover Echo (long)",
    "updown": "Up Down (long)", "vibrate": "Vibrate Only", "none": "None (silent)",
}

KEY_RE = re.compile(r"[A-Za-z0-9]{30}")
DEVICE_RE = re.compile(r"[A-Za-z0-9_-]{1,25}")
INT_RE = re.compile(r"-?[0-9]{1,18}")
FLAG_ON = ("1", "true")
FLAG_OFF = ("0", "false")
# fields that keep an empty value (it is an error there, not "absent")
KEEP_EMPTY = ("message", "token", "user")

# (prefix at offset 0, MIME type); WebP and HEIC are recognised in sniff_image()
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
          (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"BM", "image/bmp"))


class Errors:
    """Field errors in the Pushover shape: a key per bad field, all messages in `errors`."""

    def __init__(self):
        self.keys = {}
        self.texts = []

    def add(self, fields, text):
        for f in (fields,) if isinstance(fields, str) else fields:
            self.keys[f] = "invalid"
        if text not in self.texts:
            self.texts.append(text)

    def __bool__(self):
        return bool(self.texts)

    def payload(self, request_id):
        out = dict(self.keys)
        out.update(errors=list(self.texts), status=0, request=request_id)
        return out


class Part:
    """A file part as the rules see it: its name, declared type, size and bytes."""

    def __init__(self, filename, content_type, data):
        self.filename = filename
        self.content_type = content_type
        self.data = data
        self.size = len(data)


def drop_empty(fields, keep=KEEP_EMPTY):
    return {k: v for k, v in fields.items() if v != "" or k in keep}


def check_int(errs, fields, name, text, lo=None, hi=None):
    v = fields.get(name)
    if not INT_RE.fullmatch(v or ""):
        errs.add(name, text)
        return None
    n = int(v)
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        errs.add(name, text)
        return None
    return n


def flag(value):
    """True, False, or None for a value that is neither (see the module docstring)."""
    v = value.strip().lower()
    return True if v in FLAG_ON else False if v in FLAG_OFF else None


def is_image_type(ctype):
    main = (ctype or "").split(";")[0].strip().lower()
    return main.startswith("image/") and len(main) > 6


def sniff_image(head):
    """The image type its first bytes show, or None."""
    for prefix, mime in _MAGIC:
        if head.startswith(prefix):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"
    return None


def part_image_type(part):
    """The image type of a file part, or None when it is not an image."""
    declared = (part.content_type or "").split(";")[0].strip().lower()
    if declared:
        return declared if is_image_type(declared) else None
    guessed = mimetypes.guess_type(part.filename or "")[0]
    return sniff_image(part.data[:16]) or (guessed if is_image_type(guessed) else None)


def decode_base64(text):
    clean = text.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(clean, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_token(errs, token, allowed=None):
    if not KEY_RE.fullmatch(token or "") or (allowed is not None and token not in allowed):
        errs.add("token", "application token is invalid")
        return False
    return True


def check_users(errs, value, allowed=None, at_most=MAX_USERS):
    keys = (value or "").split(",")
    if len(keys) > at_most:
        errs.add("user", "too many user keys (%d, at most %d)" % (len(keys), at_most))
        return []
    for k in keys:
        if not KEY_RE.fullmatch(k) or (allowed is not None and k not in allowed):
            errs.add("user", "user identifier is invalid")
            return []
    return keys


def check_device(errs, fields):
    device = fields.get("device")
    if device and not all(DEVICE_RE.fullmatch(d) for d in device.split(",")):
        errs.add("device", "device name is invalid (1-25 characters of A-Z a-z 0-9 _ -, "
                           "several joined by commas)")


def token_errors(token, allowed=None):
    errs = Errors()
    check_token(errs, token, allowed)
    return errs


ENCRYPTED_FIELDS = ("message", "title", "url", "url_title")


def validate_message(f, part=None, tokens=None, users=None, plaintext=None):
    """Checks a message. `f`: field name -> text (empty optional fields already dropped),
    `part`: the `attachment` file part (a Part) or None.
    With `encrypted=1`, the length limits of message, title, url and url_title apply to the
    plaintext (`plaintext`: field -> text, for those the server could decrypt); a field it
    cannot read is not held to them: whether Pushover counts the Base64 is not known, and a
    local server stricter than Pushover would refuse what it may take.
    Returns (errors, attachment, priority); attachment is None or (mime type, bytes, filename).
    """
    errs = Errors()
    check_token(errs, f.get("token"), tokens)
    check_users(errs, f.get("user"), users)
    encrypted = False
    if "encrypted" in f:
        encrypted = flag(f["encrypted"])
        if encrypted is None:
            errs.add("encrypted", "encrypted must be 0 or 1")

    def text_of(name):
        if encrypted and name in ENCRYPTED_FIELDS:
            return (plaintext or {}).get(name)
        return f.get(name)

    message = f.get("message")
    if message is None or not message.strip():
        errs.add("message", "message cannot be blank")
    elif text_of("message") is not None and len(text_of("message")) > MAX_MESSAGE:
        errs.add("message", "message is too long (%d characters, at most %d)"
                 % (len(text_of("message")), MAX_MESSAGE))
    for name, limit in TEXT_LIMITS:
        if len(text_of(name) or "") > limit:
            errs.add(name, "%s is too long (%d characters, at most %d)"
                     % (name, len(text_of(name)), limit))
    check_device(errs, f)
    flags = {}
    for name in ("html", "monospace"):
        if name in f:
            flags[name] = flag(f[name])
            if flags[name] is None:
                errs.add(name, "%s must be 0 or 1" % name)
    if flags.get("html") and flags.get("monospace"):
        errs.add(("html", "monospace"), "html and monospace cannot be combined")
    priority = 0
    if "priority" in f:
        priority = check_int(errs, f, "priority", "priority must be an integer from -2 to 2",
                             -2, 2)
    if priority == 2:
        if "retry" not in f:
            errs.add("retry", "retry is required with priority 2")
        else:
            check_int(errs, f, "retry", "retry must be an integer of at least 30 seconds",
                      MIN_RETRY)
        if "expire" not in f:
            errs.add("expire", "expire is required with priority 2")
        else:
            check_int(errs, f, "expire",
                      "expire must be a positive integer of at most 10800 seconds", 1,
                      MAX_EXPIRE)
    elif "ttl" in f:
        check_int(errs, f, "ttl", "ttl must be a positive integer (seconds)", 1)
    if "timestamp" in f:
        check_int(errs, f, "timestamp", "timestamp must be a Unix time in whole seconds", 0)
    attachment = None
    if part is not None:
        mime = part_image_type(part)
        if not part.filename:
            errs.add("attachment", "attachment part needs a filename")
        if mime is None:
            errs.add("attachment", "attachment must be an image (an image/... Content-Type, "
                                   "or image data when the part has no Content-Type)")
        if part.size > MAX_ATTACHMENT:
            errs.add("attachment", "attachment is too large (%d bytes, at most %d)"
                     % (part.size, MAX_ATTACHMENT))
        elif part.size == 0:
            errs.add("attachment", "attachment is empty")
        attachment = (mime, part.data, part.filename)
    elif "attachment" in f:
        errs.add("attachment", "attachment must be sent as a file part of a "
                               "multipart/form-data body (or use attachment_base64)")
    if "attachment_base64" in f:
        if part is not None or "attachment" in f:
            errs.add("attachment_base64", "send either attachment or attachment_base64, "
                                          "not both")
        if not is_image_type(f.get("attachment_type")):
            errs.add("attachment_type", "attachment_type (an image MIME type) is required "
                                        "with attachment_base64")
        data = decode_base64(f["attachment_base64"])
        if data is None:
            hint = (" (it contains spaces: a '+' sent unencoded in a form body arrives as a "
                    "space)" if " " in f["attachment_base64"] else "")
            errs.add("attachment_base64", "attachment_base64 is not valid Base64" + hint)
        elif len(data) > MAX_ATTACHMENT:
            errs.add("attachment_base64", "attachment_base64 is too large (%d bytes decoded, "
                                          "at most %d)" % (len(data), MAX_ATTACHMENT))
        elif not data:
            errs.add("attachment_base64", "attachment is empty")
        else:
            mime = f.get("attachment_type", "").split(";")[0].strip().lower()
            attachment = (mime, data, None)
    return errs, attachment, priority


def validate_user(f, tokens=None, users=None, devices=()):
    """users/validate.json: a token, exactly one user or group key, an optional device."""
    errs = Errors()
    check_token(errs, f.get("token"), tokens)
    check_users(errs, f.get("user"), users, at_most=1)
    device = f.get("device")
    if device and device not in devices:
        errs.add("device", "device name is not valid for user")
    return errs


def validate_glance(f, tokens=None, users=None):
    """glances.json (`f` with empty fields already dropped)."""
    errs = Errors()
    check_token(errs, f.get("token"), tokens)
    check_users(errs, f.get("user"), users, at_most=1)
    check_device(errs, f)
    present = [k for k in ("title", "text", "subtext", "count", "percent") if k in f]
    if not present:
        errs.add("glance", "at least one of title, text, subtext, count or percent is required")
    for name in ("title", "text", "subtext"):
        if len(f.get(name, "")) > GLANCE_TEXT:
            errs.add(name, "%s is too long (%d characters, at most %d)"
                     % (name, len(f[name]), GLANCE_TEXT))
    if "count" in f:
        check_int(errs, f, "count", "count must be an integer")
    if "percent" in f:
        check_int(errs, f, "percent", "percent must be an integer from 0 to 100", 0, 100)
    return errs
