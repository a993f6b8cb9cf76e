"""The texts of the errors raised by number (the field errors of fields.py, attach.py and
options.py, and the few others noted below), loaded only when one is raised: a rule broken
costs no heap until it is broken."""

_TEXTS = (
    "must be exactly 30 letters and digits",
    "may hold only the letters A-Z, a-z and digits 0-9",
    "1 to 50 user keys",
    "must be a str, not %s",
    "at most %s characters",
    "may not be empty or blank",
    "is not valid Unicode text",
    "must be an int, not %s",
    "at least %s",
    "at most %s",
    "needs at least one device name",
    "each name 1 to 25 characters",
    "names may hold only A-Z, a-z, 0-9, _ and -",
    "must be True/False or 1/0",
    "cannot be combined with monospace",
    "is required with priority 2",
    "is only used with priority 2",
    "is not a message field of the Pushover API",
    "may not be empty",
    "is required: give it to Pushover() or to send()",
    # 20-: attach.py
    "must be a MIME type such as image/jpeg",
    "needs an attachment",
    "cannot be combined with attachment",
    "is required with attachment_base64",
    "at most 5242880 bytes",
    "no file at %s",
    "is a folder, not a file: %s",
    "a memoryview must be of bytes (itemsize 1)",
    "a stream that cannot seek needs attachment_size=",
    "must be a file path, a bytes-like object or a stream",
    "does not match the data's size",
    "must be a whole number of bytes",
    "is needed for a stream that cannot seek",
    "is not a JPEG, PNG, GIF, WebP or BMP image; give attachment_type= to send it anyway",
    "must be a str of 1 to 70 characters",
    "may hold only A-Z, a-z, 0-9, _ and -",
    "occurs in a field's value",
    "ended before its size of %s bytes",
    "no free block of %s bytes for the body's buffer: free memory or give a smaller bufsize",
    # 39: http.py, not a field's
    "no requests module: mip install requests, or pass transport=SocketTransport()",
    # 40: __init__.py
    "must be a number of seconds from 0.1 to 3600",
)


def problem_text(code, arg):
    text = _TEXTS[code]
    return text % arg if "%s" in text else text
