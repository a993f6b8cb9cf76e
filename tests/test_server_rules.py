"""The local server's API rules as plain functions (tools/localpushover/rules.py), without
sockets: the table of cases (tests/api_cases.py), attachment parts, flags, masking.
"""

import base64

import pytest

import pushover_server
from api_cases import CASES, OTHER_TOKEN, PNG, TOKEN, USER, USER2, plain
from localpushover import masking, rules
from server_helpers import JPEG, find_leak


def bad_of(errs):
    return set(errs.keys)


@pytest.mark.parametrize("over,bad", [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_table_case(over, bad):
    errs, attachment, priority = rules.validate_message(rules.drop_empty(plain(**over)))
    assert bad_of(errs) == set(bad), errs.texts
    assert bool(errs) == bool(bad)
    if not bad:
        assert priority == int(over.get("priority", "0"))
        assert (attachment is not None) == ("attachment_base64" in over)


def test_error_payload_shape():
    errs, _, _ = rules.validate_message(rules.drop_empty(plain(
        token="short", message=" ", html="2")))
    p = errs.payload("req-1")
    assert p == {"token": "invalid", "message": "invalid", "html": "invalid",
                 "errors": p["errors"], "status": 0, "request": "req-1"}
    assert len(p["errors"]) == 3 and all(isinstance(t, str) and t for t in p["errors"])


def test_allowed_tokens_and_users():
    f = plain()
    assert not rules.validate_message(f, tokens={TOKEN}, users={USER})[0]
    assert bad_of(rules.validate_message(f, tokens={OTHER_TOKEN})[0]) == {"token"}
    assert bad_of(rules.validate_message(f, users={USER2})[0]) == {"user"}


@pytest.mark.parametrize("value,expected", [
    ("1", True), ("0", False), ("true", True), ("false", False), ("True", True),
    ("FALSE", False), (" 1 ", True), ("2", None), ("yes", None), ("on", None), ("", None)])
def test_flag_values(value, expected):
    assert rules.flag(value) is expected


# ---- the attachment part: with or without a Content-Type

PART_CASES = [
    # (filename, Content-Type, data, refused?, stored type)
    ("door.png", "image/png", PNG, False, "image/png"),
    ("door.png", "IMAGE/PNG; x=1", PNG, False, "image/png"),
    ("door.png", None, PNG, False, "image/png"),  # requests' files={"attachment": (name, f)}
    ("door", None, JPEG, False, "image/jpeg"),  # no extension: the bytes tell
    ("photo.jpg", None, b"\0\1\2 not an image by its bytes", False, "image/jpeg"),  # the name
    ("notes.txt", None, b"hello", True, None),
    ("notes.txt", "text/plain", b"hello", True, None),
    ("door.png", "application/octet-stream", PNG, True, None),
    (None, "image/png", PNG, True, "image/png"),  # a part without a filename
    ("empty.png", "image/png", b"", True, "image/png"),
    ("big.png", "image/png", PNG[:8] + b"\0" * rules.MAX_ATTACHMENT, True, "image/png"),
]


@pytest.mark.parametrize("filename,ctype,data,refused,mime", PART_CASES,
                         ids=["typed", "typed-params", "untyped-png", "untyped-no-ext",
                              "untyped-by-name", "untyped-text", "text", "octet-stream",
                              "no-filename", "empty", "one-over"])
def test_attachment_part(filename, ctype, data, refused, mime):
    part = rules.Part(filename, ctype, data)
    errs, attachment, _ = rules.validate_message(plain(), part)
    assert bad_of(errs) == ({"attachment"} if refused else set()), errs.texts
    assert attachment[0] == mime and attachment[2] == filename
    assert attachment[1] is data


def test_attachment_at_the_limit():
    data = PNG[:8] + b"\0" * (rules.MAX_ATTACHMENT - 8)
    errs, attachment, _ = rules.validate_message(plain(), rules.Part("a.png", None, data))
    assert not errs and attachment[0] == "image/png" and len(attachment[1]) == len(data)


@pytest.mark.parametrize("head,mime", [
    (b"\xff\xd8\xff\xe0", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF89a", "image/gif"), (b"GIF87a", "image/gif"), (b"BM\0\0", "image/bmp"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"), (b"\0\0\0\x18ftypheic", "image/heic"),
    (b"%PDF-1.7", None), (b"", None), (b"<svg", None)])
def test_sniff_image(head, mime):
    assert rules.sniff_image(head) == mime


def test_base64_attachment_decoded_with_its_type():
    f = plain(attachment_base64=base64.b64encode(PNG).decode(), attachment_type="image/PNG")
    errs, attachment, _ = rules.validate_message(f)
    assert not errs and attachment == ("image/png", PNG, None)


def test_validate_user_rules():
    assert not rules.validate_user({"token": TOKEN, "user": USER}, devices=("phone",))
    assert not rules.validate_user({"token": TOKEN, "user": USER, "device": "phone"},
                                   devices=("phone",))
    assert bad_of(rules.validate_user({"token": TOKEN, "user": USER, "device": "toaster"},
                                      devices=("phone",))) == {"device"}
    assert bad_of(rules.validate_user({"token": TOKEN, "user": USER + "," + USER2})) == {"user"}


def test_glance_rules():
    base = {"token": TOKEN, "user": USER}
    assert bad_of(rules.validate_glance(base)) == {"glance"}
    assert not rules.validate_glance(dict(base, count="-3"))
    assert not rules.validate_glance(dict(base, percent="100", title="t" * 100))
    assert bad_of(rules.validate_glance(dict(base, percent="101"))) == {"percent"}
    assert bad_of(rules.validate_glance(dict(base, text="x" * 101))) == {"text"}
    assert bad_of(rules.validate_glance(dict(base, count="1.5"))) == {"count"}


def test_token_errors():
    assert not rules.token_errors(TOKEN)
    assert bad_of(rules.token_errors(TOKEN[:29])) == {"token"}
    assert bad_of(rules.token_errors(TOKEN, allowed={OTHER_TOKEN})) == {"token"}


def test_mask_helpers():
    assert pushover_server.mask(TOKEN) == "srvT\u2026"
    assert pushover_server.mask(TOKEN + "," + USER) == "srvT\u2026,srvT\u2026"
    assert pushover_server.mask("short") == "\u2026"
    line = pushover_server.mask_text("GET /x?token=%s&user=%s%%2C%s bare %s" % (
        TOKEN, USER, USER2, OTHER_TOKEN))
    assert find_leak(line) is None
    assert masking.token_id(TOKEN) != masking.token_id(OTHER_TOKEN)
    assert TOKEN not in masking.token_id(TOKEN)
