"""Every message field and every limit of the API: at the limit it passes, one past it fails
with a FieldError that names the field and the limit, before any network I/O."""

import io

import pytest

import pushover
from pushover import FieldError, Pushover, attach
from pushover import compat as compat_module

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 60


class NoNetwork:
    """A transport that fails the test if anything tries to send."""

    def request(self, *args, **kwargs):
        raise AssertionError("network I/O happened for input that should have been refused")


@pytest.fixture
def po():
    return Pushover(TOKEN, USER, transport=NoNetwork())


def refused(po, field, message="hi", **fields):
    with pytest.raises(FieldError) as info:
        po.send(message, **fields)
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith(field + ":")
    return info.value


def pairs_of(po, message="hi", **fields):
    return dict(po.form(message, **fields).pairs)


TEXT_LIMITS = [("message", 1024), ("title", 250), ("url", 512), ("url_title", 100)]


@pytest.mark.parametrize("field,limit", TEXT_LIMITS)
def test_text_at_limit_passes_and_one_past_fails(po, field, limit):
    # é is 2 bytes in UTF-8: limits count characters, not bytes
    at_limit = "é" * limit
    kwargs = {} if field == "message" else {field: at_limit}
    message = at_limit if field == "message" else "hi"
    assert pairs_of(po, message, **kwargs)[field] == at_limit
    kwargs = {} if field == "message" else {field: at_limit + "x"}
    message = at_limit + "x" if field == "message" else "hi"
    err = refused(po, field, message, **kwargs)
    assert err.limit == limit and err.size == limit + 1
    assert str(limit) in str(err) and str(limit + 1) in str(err)


@pytest.mark.parametrize("message", ["", " ", "\n\t "])
def test_blank_message_is_refused(po, message):
    refused(po, "message", message)


def test_message_must_be_text(po):
    refused(po, "message", b"bytes")


def test_newlines_and_symbols_are_kept(po):
    text = "line 1\nline 2 & = % + \"quoted\" \r\n"
    assert pairs_of(po, text)["message"] == text


@pytest.mark.parametrize("token", ["a" * 29, "a" * 31, "a" * 29 + "!", "a" * 29 + "é", 12345])
def test_token_format(token):
    with pytest.raises(FieldError) as info:
        Pushover(token, USER)
    assert info.value.field == "token"
    if isinstance(token, str):
        assert token not in str(info.value) and token not in repr(info.value)


def test_user_keys_up_to_50(po):
    keys = ["u%029d" % i for i in range(50)]
    assert pairs_of(po, user=keys)["user"] == ",".join(keys)
    assert pairs_of(po, user=",".join(keys))["user"] == ",".join(keys)
    err = refused(po, "user", user=keys + ["u" * 30])
    assert err.limit == 50 and err.size == 51


def test_bad_user_key_is_not_echoed(po):
    bad = "secretUserKey_with_bad_chars!!"
    err = refused(po, "user", user=bad)
    assert bad not in str(err) and bad not in repr(err)


def test_user_is_required():
    po = Pushover(TOKEN, transport=NoNetwork())
    refused(po, "user")
    assert pairs_of(po, user=USER)["user"] == USER


def test_devices(po):
    assert pairs_of(po, device="phone")["device"] == "phone"
    assert pairs_of(po, device=["a" * 25, "my-tab_2"])["device"] == "a" * 25 + ",my-tab_2"
    err = refused(po, "device", device="a" * 26)
    assert err.limit == 25 and err.size == 26
    refused(po, "device", device="")
    refused(po, "device", device="bad name")
    refused(po, "device", device="a,,b")
    refused(po, "device", device=[])


@pytest.mark.parametrize("priority", [-2, -1, 0, 1])
def test_priorities(po, priority):
    assert pairs_of(po, priority=priority)["priority"] == str(priority)


@pytest.mark.parametrize("priority", [-3, 3, True, "1", 1.0])
def test_bad_priorities(po, priority):
    refused(po, "priority", priority=priority)


def test_emergency_needs_retry_and_expire(po):
    got = pairs_of(po, priority=2, retry=30, expire=10800, callback="https://x.example/cb",
                   tags=["door", "garage"])
    assert (got["retry"], got["expire"], got["tags"]) == ("30", "10800", "door,garage")
    refused(po, "retry", priority=2, expire=60)
    refused(po, "expire", priority=2, retry=60)
    err = refused(po, "retry", priority=2, retry=29, expire=60)
    assert err.limit == 30 and err.size == 29
    err = refused(po, "expire", priority=2, retry=30, expire=10801)
    assert err.limit == 10800 and err.size == 10801


@pytest.mark.parametrize("field,value", [("retry", 60), ("expire", 60), ("callback", "https://x"),
                                         ("tags", "a")])
def test_emergency_fields_need_priority_2(po, field, value):
    refused(po, field, priority=1, **{field: value})


def test_html_and_monospace(po):
    assert pairs_of(po, html=True)["html"] == "1"
    assert pairs_of(po, monospace=1)["monospace"] == "1"
    assert "html" not in pairs_of(po, html=False)
    refused(po, "html", html=True, monospace=True)
    refused(po, "html", html="yes")


def test_ttl(po):
    assert pairs_of(po, ttl=1)["ttl"] == "1"
    err = refused(po, "ttl", ttl=0)
    assert err.limit == 1


def test_sound_any_name(po):
    assert pairs_of(po, sound="siren")["sound"] == "siren"
    assert pairs_of(po, sound="my_custom")["sound"] == "my_custom"
    refused(po, "sound", sound="")


def test_timestamp_is_unix_time(po, monkeypatch):
    assert pairs_of(po, timestamp=1700000000)["timestamp"] == "1700000000"
    # a port whose epoch is 2000-01-01: the board's time is shifted to Unix time
    monkeypatch.setattr(compat_module, "EPOCH_OFFSET", 946684800)
    assert pairs_of(po, timestamp=800000000)["timestamp"] == str(800000000 + 946684800)
    refused(po, "timestamp", timestamp=-1)
    refused(po, "timestamp", timestamp="now")


def test_unknown_field(po):
    refused(po, "colour", colour="red")


def sparse_file(tmp_path, size, head=JPEG):
    path = tmp_path / "big.jpg"
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)  # sparse: the test never writes (nor the library reads) the bulk
    return str(path)


def test_attachment_size_limit_from_stat(po, tmp_path):
    limit = attach.MAX_ATTACHMENT
    assert limit == 5 * 1024 * 1024
    form = po.form("hi", attachment=sparse_file(tmp_path, limit))
    assert form.attachment[3] == limit
    err = refused(po, "attachment", attachment=sparse_file(tmp_path, limit + 1))
    assert err.limit == limit and err.size == limit + 1


def test_attachment_size_limit_from_len(po):
    limit = attach.MAX_ATTACHMENT
    data = bytearray(limit)
    data[: len(JPEG)] = JPEG
    po.form("hi", attachment=memoryview(data))
    data.append(0)
    refused(po, "attachment", attachment=data)


def test_attachment_from_stream(po):
    stream = io.BytesIO(b"junk" + JPEG)
    stream.read(4)  # the image starts at the stream's current position
    form = po.form("hi", attachment=stream)
    assert form.attachment[3] == len(JPEG) and form.attachment[2] == "image/jpeg"
    assert stream.tell() == 4, "sniffing the type must rewind the stream"


class OneWayStream:
    def __init__(self, data):
        self.data = io.BytesIO(data)

    def readinto(self, buf):
        return self.data.readinto(buf)


def test_unseekable_stream_needs_size_and_type(po):
    refused(po, "attachment", attachment=OneWayStream(JPEG))
    refused(po, "attachment_type", attachment=OneWayStream(JPEG), attachment_size=len(JPEG))
    form = po.form("hi", attachment=OneWayStream(JPEG), attachment_size=len(JPEG),
                   attachment_type="image/jpeg")
    assert form.attachment[3] == len(JPEG)


@pytest.mark.parametrize("head,mime", [
    (b"\xff\xd8\xff\xdb", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF89a", "image/gif"),
    (b"GIF87a", "image/gif"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
    (b"BM\0\0", "image/bmp"),
])
def test_type_recognised_from_first_bytes(po, head, mime):
    assert po.form("hi", attachment=head + b"\0" * 20).attachment[2] == mime


def test_unknown_type_needs_attachment_type(po):
    err = refused(po, "attachment", attachment=b"%PDF-1.4 not an image")
    assert "attachment_type" in str(err)
    form = po.form("hi", attachment=b"%PDF-1.4", attachment_type="application/pdf")
    assert form.attachment[2] == "application/pdf"


@pytest.mark.parametrize("mime", ['image/jpeg"', "image/jpeg\r\nX-Evil: 1", "jpeg", "image/"])
def test_attachment_type_cannot_inject(po, mime):
    refused(po, "attachment_type", attachment=JPEG, attachment_type=mime)


def test_attachment_errors(po, tmp_path):
    refused(po, "attachment", attachment=str(tmp_path / "missing.jpg"))
    refused(po, "attachment", attachment=str(tmp_path))
    refused(po, "attachment", attachment=12)
    refused(po, "attachment_base64", attachment=JPEG, attachment_base64=JPEG)
    refused(po, "attachment_type", attachment_base64=JPEG)
    refused(po, "attachment_type", attachment_type="image/png")
    refused(po, "attachment_size", attachment=JPEG, attachment_size=3)


def test_base64_limit_is_on_the_image(po):
    limit = attach.MAX_ATTACHMENT
    po.form("hi", attachment_base64=bytes(limit), attachment_type="image/jpeg")
    err = refused(po, "attachment_base64", attachment_base64=bytes(limit + 1),
                  attachment_type="image/jpeg")
    assert err.size == limit + 1


def test_repr_and_errors_hide_secrets(po):
    assert TOKEN not in repr(po) and USER not in repr(po)
    for kwargs in ({"title": "x" * 251}, {"priority": 9}, {"colour": 1}):
        with pytest.raises(FieldError) as info:
            po.send("hi", **kwargs)
        text = str(info.value) + repr(info.value) + repr(info.value.args)
        assert TOKEN not in text and USER not in text


def test_all_errors_share_one_base_and_field_errors_are_value_errors():
    for name in ("FieldError", "RejectedError", "QuotaError", "TemporaryError",
                 "UnknownOutcomeError"):
        assert issubclass(getattr(pushover, name), pushover.PushoverError)
    assert issubclass(FieldError, ValueError)


@pytest.mark.parametrize("field", ["callback", "tags", "sound"])
def test_other_text_fields_at_512_and_one_past(po, field):
    extra = {"priority": 2, "retry": 30, "expire": 60} if field != "sound" else {}
    assert pairs_of(po, **extra, **{field: "a" * 512})[field] == "a" * 512
    err = refused(po, field, **extra, **{field: "a" * 513})
    assert err.limit == 512 and err.size == 513


def test_expire_at_least_1(po):
    assert pairs_of(po, priority=2, retry=30, expire=1)["expire"] == "1"
    err = refused(po, "expire", priority=2, retry=30, expire=0)
    assert err.limit == 1 and err.size == 0


def test_empty_user_list_is_refused(po):
    refused(po, "user", user=[])
    with pytest.raises(FieldError) as info:
        Pushover(TOKEN, [])
    assert info.value.field == "user"


@pytest.mark.parametrize("fields,field", [
    ({"attachment": JPEG, "attachment_name": 5}, "attachment_name"),
    ({"attachment": JPEG, "attachment_name": "a" * 256}, "attachment_name"),
    ({"priority": 2, "retry": 30, "expire": 60, "tags": ["ok", 1]}, "tags"),
])
def test_wrong_types_are_field_errors_not_type_errors(po, fields, field):
    refused(po, field, **fields)


def test_a_stream_with_only_readinto_is_sniffed():
    class ReadintoOnly:
        def __init__(self, data):
            self.raw = io.BytesIO(data)
            self.readinto = self.raw.readinto
            self.seek = self.raw.seek
            self.tell = self.raw.tell

    po = Pushover(TOKEN, USER, transport=NoNetwork())
    form = po.form("hi", attachment=ReadintoOnly(JPEG))
    assert form.attachment[2] == "image/jpeg"
    assert b"".join(bytes(c) for c in form.chunks()).count(JPEG) == 1


@pytest.mark.parametrize("boundary", ['a"b', "a\r\nX-Evil: 1", "", "a" * 71, 7])
def test_a_given_boundary_cannot_inject(po, boundary):
    with pytest.raises(FieldError) as info:
        po.form("hi", attachment=JPEG, boundary=boundary)
    assert info.value.field == "boundary"


def test_a_user_given_to_send_is_scrubbed_from_server_errors():
    other = "oOther0123456789abcdefghijKLMN"

    class Echo:
        def request(self, method, url, form=None, timeout=None, secrets=()):
            body = ('{"status":0,"user":"%s is invalid","errors":["user %s is invalid"]}'
                    % (other, other)).encode()
            return 400, {}, body

    po = Pushover(TOKEN, transport=Echo())
    with pytest.raises(pushover.RejectedError) as info:
        po.send("hi", user=other)
    text = str(info.value) + repr(info.value.args) + repr(info.value.fields) + repr(
        info.value.errors)
    assert other not in text and "***" in text


def test_a_memoryview_of_wider_items_is_refused(po):
    """len() of a memoryview counts items: a view of 16-bit items would announce half its
    bytes in Content-Length."""
    from array import array

    wide = memoryview(array("H", [0xD8FF] * 100))
    err = refused(po, "attachment", attachment=wide, attachment_type="image/jpeg")
    assert "itemsize" in str(err)
    assert po.form("hi", attachment=memoryview(JPEG)).length > len(JPEG)


@pytest.mark.parametrize("path", ["a\x00b", "\ud800.jpg"])
def test_a_path_no_file_system_can_hold_is_a_field_error(path):
    """CPython's os.stat raises ValueError for a NUL or a lone surrogate, not OSError: it is
    still "no file at", a FieldError, and not an exception a queue's flush would stop on."""
    po = Pushover(TOKEN, USER, transport=object())
    with pytest.raises(FieldError) as info:
        po.form("Door open", attachment=path)
    assert info.value.field == "attachment" and "no file at" in str(info.value)
