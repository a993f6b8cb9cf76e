"""One table of API cases: field values, whether Pushover takes them, and why.

Plain data, no test code. Both the local server's rules (tests/test_server_rules.py, without
sockets; tests/test_server_http.py, over HTTP) and the library's checks (tests/test_api_cases.py,
through `Pushover(...).form(...)`) are tested against it, so the two cannot drift apart.

Each row of CASES: (id, the fields that differ from a plain message as text on the wire (None:
left out), the fields Pushover refuses (empty: it takes the message), why). The verdicts follow
SPEC.md section 1 and what Pushover's own clients send (tests/test_server_clients.py).

LIBRARY_STRICTER names each case Pushover takes and the library refuses on purpose, and why;
LIBRARY_LOOSER each case the library lets through and Pushover (and the server) refuses;
NOT_EXPRESSIBLE the cases the library has no way to send.
"""

import base64
import hashlib

# Made-up keys of the right shape (30 characters of A-Z a-z 0-9), distinctive enough to grep for.
TOKEN = "srvTestTokenA1b2C3d4E5f6G7h8J9"
USER = "srvTestUserKey9Z8y7X6w5V4u3T2s"
OTHER_TOKEN = "srvOtherTokenQ1w2E3r4T5y6U7i8O"
USER2 = "srvSecondUserM1n2B3v4C5x6Z7l8K"

PNG = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(b"png").digest() * 64  # 2 KiB, fake but typed
E = "\u20ac"  # one character, three bytes in UTF-8
SMILE = "\U0001F600"  # one character (code point), four bytes
LIST50 = ",".join(("srvListUser%04d" % i).ljust(30, "x") for i in range(50))
LIST51 = LIST50 + "," + "srvListUser0050".ljust(30, "x")

MESSAGE = "required, at most 1024 characters (code points, not bytes), not blank; newlines allowed"
TEXTS = "title at most 250, url at most 512 (any scheme), url_title at most 100 characters; an empty optional field counts as absent"
KEYS = "token and user keys are exactly 30 of A-Z a-z 0-9, case-sensitive; at most 50 user keys joined by commas"
DEVICES = "each device name is 1-25 of A-Z a-z 0-9 _ -; several are joined by commas"
PRIORITY = "an integer from -2 to 2"
EMERGENCY = "priority 2 needs retry (at least 30) and expire (1 to 10800); retry and expire are ignored below priority 2, ttl at priority 2"
FLAGS = "html and monospace are flags and cannot both be on"
TTL = "a positive integer of seconds"
TIMESTAMP = "a Unix time in whole seconds"
SOUND = "custom sound names exist, so an unknown name is not an error"
BASE64 = "attachment_base64 needs an image attachment_type; Base64 may hold line breaks; a binary attachment must be a multipart file part"
PARITY = ("what Pushover's clients send and Pushover takes: requests sends Python's True/False "
          "as text, and pushover-complete sends html=False on every message")
OPTIONAL = ("an optional field SPEC.md gives no limit; below priority 2 the emergency fields "
            "are ignored")


def plain(**over):
    """A plain message's fields with `over` applied (None: the field is left out)."""
    f = {"token": TOKEN, "user": USER, "message": "hello"}
    for k, v in over.items():
        if v is None:
            f.pop(k, None)
        else:
            f[k] = v
    return f


def _section(why, rows):
    return [(name, over, bad, why) for name, over, bad in rows]


CASES = _section(MESSAGE, [
    ("message-1024-chars-3-byte", {"message": E * 1024}, ()),
    ("message-1025-chars", {"message": E * 1025}, ("message",)),
    ("message-1024-emoji", {"message": SMILE * 1024}, ()),
    ("message-1025-emoji", {"message": SMILE * 1025}, ("message",)),
    ("message-1024-ascii", {"message": "m" * 1024}, ()),
    ("message-blank", {"message": " \r\n\t "}, ("message",)),
    ("message-empty", {"message": ""}, ("message",)),
    ("message-missing", {"message": None}, ("message",)),
    ("message-newlines", {"message": "line 1\nline 2\r\nline 3"}, ()),
]) + _section(TEXTS, [

    ("title-250", {"title": E * 250}, ()),
    ("title-251", {"title": E * 251}, ("title",)),
    ("title-empty-is-absent", {"title": ""}, ()),
    ("url-512", {"url": "myapp://" + "u" * 504}, ()),
    ("url-513", {"url": "myapp://" + "u" * 505}, ("url",)),
    ("url_title-100", {"url": "https://example.invalid/", "url_title": E * 100}, ()),
    ("url_title-101", {"url": "https://example.invalid/", "url_title": E * 101}, ("url_title",)),
]) + _section(KEYS, [

    ("token-30", {"token": "A" * 29 + "z"}, ()),
    ("token-29", {"token": TOKEN[:29]}, ("token",)),
    ("token-31", {"token": TOKEN + "a"}, ("token",)),
    ("token-dash", {"token": TOKEN[:29] + "-"}, ("token",)),
    ("token-non-ascii-letter", {"token": TOKEN[:29] + "\u00e9"}, ("token",)),
    ("token-missing", {"token": None}, ("token",)),
    ("user-29", {"user": USER[:29]}, ("user",)),
    ("user-31", {"user": USER + "b"}, ("user",)),
    ("user-underscore", {"user": USER[:29] + "_"}, ("user",)),
    ("user-missing", {"user": None}, ("user",)),
    ("users-2", {"user": USER + "," + USER2}, ()),
    ("users-50", {"user": LIST50}, ()),
    ("users-51", {"user": LIST51}, ("user",)),
    ("users-trailing-comma", {"user": USER + ","}, ("user",)),
    ("users-one-bad", {"user": USER + "," + USER2[:29]}, ("user",)),
]) + _section(DEVICES, [

    ("device-25", {"device": "d" * 25}, ()),
    ("device-26", {"device": "d" * 26}, ("device",)),
    ("device-charset", {"device": "My_Phone-2"}, ()),
    ("device-list", {"device": "phone,tablet,d" + "x" * 24}, ()),
    ("device-list-26", {"device": "phone," + "x" * 26}, ("device",)),
    ("device-space", {"device": "my phone"}, ("device",)),
    ("device-dot", {"device": "phone.1"}, ("device",)),
    ("device-empty-item", {"device": "phone,"}, ("device",)),
]) + _section(PRIORITY, [

    ("priority--2", {"priority": "-2"}, ()),
    ("priority--1", {"priority": "-1"}, ()),
    ("priority-0", {"priority": "0"}, ()),
    ("priority-1", {"priority": "1"}, ()),
    ("priority--3", {"priority": "-3"}, ("priority",)),
    ("priority-3", {"priority": "3"}, ("priority",)),
    ("priority-word", {"priority": "high"}, ("priority",)),
    ("priority-float", {"priority": "1.0"}, ("priority",)),
]) + _section(EMERGENCY, [

    ("emergency-limits", {"priority": "2", "retry": "30", "expire": "10800"}, ()),
    ("emergency-retry-29", {"priority": "2", "retry": "29", "expire": "60"}, ("retry",)),
    ("emergency-expire-10801", {"priority": "2", "retry": "30", "expire": "10801"},
     ("expire",)),
    ("emergency-expire-0", {"priority": "2", "retry": "30", "expire": "0"}, ("expire",)),
    ("emergency-no-retry", {"priority": "2", "expire": "60"}, ("retry",)),
    ("emergency-no-expire", {"priority": "2", "retry": "60"}, ("expire",)),
    ("emergency-neither", {"priority": "2"}, ("retry", "expire")),
    ("retry-ignored-below-2", {"priority": "1", "retry": "5", "expire": "99999"}, ()),
    ("emergency-ttl-ignored", {"priority": "2", "retry": "30", "expire": "60", "ttl": "0"},
     ()),
]) + _section(FLAGS, [

    ("html-1", {"html": "1"}, ()),
    ("monospace-1", {"monospace": "1"}, ()),
    ("html-1-monospace-0", {"html": "1", "monospace": "0"}, ()),
    ("html-and-monospace", {"html": "1", "monospace": "1"}, ("html", "monospace")),
    ("html-2", {"html": "2"}, ("html",)),
]) + _section(TTL, [

    ("ttl-1", {"ttl": "1"}, ()),
    ("ttl-big", {"ttl": "31536000"}, ()),
    ("ttl-0", {"ttl": "0"}, ("ttl",)),
    ("ttl-negative", {"ttl": "-1"}, ("ttl",)),
    ("ttl-unit", {"ttl": "60s"}, ("ttl",)),
]) + _section(TIMESTAMP, [

    ("timestamp-0", {"timestamp": "0"}, ()),
    ("timestamp-now", {"timestamp": "1700000000"}, ()),
    ("timestamp-negative", {"timestamp": "-1"}, ("timestamp",)),
    ("timestamp-fraction", {"timestamp": "1700000000.5"}, ("timestamp",)),
]) + _section(SOUND, [

    ("sound-builtin", {"sound": "siren"}, ()),
    ("sound-custom", {"sound": "my_custom_sound"}, ()),
]) + _section(BASE64, [

    ("base64-with-type", {"attachment_base64": base64.b64encode(PNG).decode(),
                          "attachment_type": "image/png"}, ()),
    ("base64-without-type", {"attachment_base64": base64.b64encode(PNG).decode()},
     ("attachment_type",)),
    ("base64-non-image-type", {"attachment_base64": base64.b64encode(PNG).decode(),
                               "attachment_type": "text/plain"}, ("attachment_type",)),
    ("base64-invalid", {"attachment_base64": "!!!not base64!!!",
                        "attachment_type": "image/png"}, ("attachment_base64",)),
    ("base64-with-line-breaks", {"attachment_base64": base64.encodebytes(PNG).decode(),
                                 "attachment_type": "image/png"}, ()),
    ("attachment-in-form", {"attachment": "abc"}, ("attachment",)),
]) + _section(PARITY, [
    ("html-false", {"html": "false"}, ()),
    ("html-False", {"html": "False"}, ()),
    ("html-True", {"html": "True"}, ()),
    ("monospace-true", {"monospace": "true"}, ()),
    ("html-True-monospace-False", {"html": "True", "monospace": "False"}, ()),
    ("html-true-monospace-1", {"html": "true", "monospace": "1"}, ("html", "monospace")),
    ("html-yes", {"html": "yes"}, ("html",)),
]) + _section(OPTIONAL, [
    ("callback-513", {"priority": "2", "retry": "30", "expire": "60",
                      "callback": "https://example.invalid/" + "c" * 489}, ()),
    ("sound-513", {"sound": "s" * 513}, ()),
    ("sound-empty-is-absent", {"sound": ""}, ()),
    ("callback-below-2", {"priority": "1", "callback": "https://example.invalid/cb"}, ()),
    ("tags-below-2", {"tags": "door,garage"}, ()),
])

LIBRARY_STRICTER = {
    "retry-ignored-below-2": "retry/expire below priority 2 are a mistake in the caller's code: "
                             "Pushover ignores them, the library refuses them",
    "callback-below-2": "callback below priority 2 is never called: the library refuses it",
    "tags-below-2": "tags below priority 2 have no receipt to cancel: the library refuses them",
    "emergency-ttl-ignored": "Pushover ignores ttl at priority 2; the library checks every ttl "
                             "it is given (at least 1)",
    "callback-513": "the library caps callback, sound and tags at 512 characters (SPEC.md "
                    "gives them no limit)",
    "sound-513": "the library caps callback, sound and tags at 512 characters",
    "sound-empty-is-absent": "the library refuses an empty sound (a caller's mistake); "
                             "Pushover takes an empty field as absent",
}

LIBRARY_LOOSER = {
    "base64-non-image-type": "the library checks that attachment_type is a MIME type, not "
                             "that it is an image type; Pushover takes only images",
}

NOT_EXPRESSIBLE = {
    "attachment-in-form": "the library always sends an attachment as a file part",
    "base64-invalid": "the library Base64-encodes the bytes it is given itself",
    "html-yes": "the library takes html as True/False or 1/0 only",
}
