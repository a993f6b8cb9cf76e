"""End-to-end encryption (pushover.e2e, `encryption_key=`) checked by code nobody here wrote:
the `cryptography` package's AES-CBC, HMAC and PKCS7 and the standard library's gzip read
every value the library seals, for arbitrary text up to each field's limit; a known answer
with a fixed IV; tampering detected; nothing sent in plaintext when encryption fails."""

import base64
import gzip
import sys
import zlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bodies import body_of, parse_multipart, parse_urlencoded
from live import TRANSPORTS, client, close, start_server
from pushover import FieldError, Pushover, PushoverError, e2e

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
KEY_HEX = "6b0d5c3e1f2a4b7c8d9e0f11223344556677889900aabbccddeeff0123456789"
KEY = bytes.fromhex(KEY_HEX)
LIMITS = {"message": 1024, "title": 250, "url": 512, "url_title": 100}
EXAMPLES = 200  # hypothesis cases per field
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


class Recording:
    """A transport that keeps each body it is given and replies with success."""

    def __init__(self):
        self.calls = []

    def request(self, method, url, form=None, timeout=None, secrets=()):
        body = body_of(form)
        self.calls.append({"length": len(body), "declared": form.length, "body": body})
        return 200, {}, b'{"status":1,"request":"r"}'


def open_sealed(value, key=KEY):
    """The plaintext of one sealed field, read only with the reference implementations;
    raises InvalidSignature if the MAC does not match."""
    raw = base64.b64decode(value, validate=True)
    iv, body, mac = raw[:16], raw[16:-32], raw[-32:]
    check = hmac.HMAC(key, hashes.SHA256())
    check.update(iv + body)
    check.verify(mac)
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(body) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return gzip.decompress(unpadder.update(padded) + unpadder.finalize()).decode("utf-8")


def po(**kw):
    return Pushover(TOKEN, USER, encryption_key=KEY_HEX, transport=Recording(),
                    **kw)


@pytest.mark.parametrize("field", list(LIMITS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_of_any_text_up_to_the_limit(field, data):
    limit = LIMITS[field]
    # lengths spread over the whole range, and the limit itself often
    size = data.draw(st.integers(0, limit) | st.just(limit), label="characters")
    text = data.draw(st.text(min_size=size, max_size=size), label=field)
    if field == "message":  # may not be blank
        text = text if text.strip() else "x" + text[1:]
        pairs = dict(po().form(text).pairs)
    else:
        pairs = dict(po().form("m", **{field: text}).pairs)
    assert pairs["encrypted"] == "1"
    assert open_sealed(pairs[field]) == text
    n = len(text.encode())
    assert len(pairs[field]) == 4 * ((e2e.sealed_size(n) + 2) // 3)


def test_the_limits_apply_to_the_plaintext_before_encryption():
    p = po()
    with pytest.raises(FieldError) as err:
        p.form("x" * 1025)
    assert err.value.field == "message" and err.value.size == 1025
    with pytest.raises(FieldError):
        p.form("x", url_title="u" * 101)
    # at the limit, 4 bytes a character: accepted, and longer than the limit once sealed
    pairs = dict(p.form("\U0001f600" * 1024, url_title="").pairs)
    assert open_sealed(pairs["message"]) == "\U0001f600" * 1024
    assert len(pairs["message"]) == 5568 > 1024
    assert len(pairs["url_title"]) == 108 > 100  # the smallest sealed value
    assert open_sealed(pairs["url_title"]) == ""


def test_known_answer_with_a_fixed_iv():
    enc = e2e.Encryptor(KEY_HEX)
    enc._urandom = lambda n: bytes(range(n))
    sealed = enc.seal("Door open \u00e9")
    assert sealed == (
        "AAECAwQFBgcICQoLDA0OD1ZWGCCcU5i8UeJCQig8dZovCFV2/vWlUtYkABFJKn4Y/c/BZ80nTpx1OArY"
        "sKhKAqmRUPP5xjrcLquC/uUWtXiaclnl9Q1TY3E/ViU8R+f8")
    raw = base64.b64decode(sealed)
    assert raw[:16] == bytes(range(16))
    dec = Cipher(algorithms.AES(KEY), modes.CBC(raw[:16])).decryptor()
    plain = dec.update(raw[16:-32]) + dec.finalize()
    # gzip of stored blocks, as written by hand from RFC 1951/1952, then PKCS7
    text = "Door open \u00e9".encode()
    assert plain == (bytes.fromhex("1f8b08000000000000ff" "010c00f3ff") + text
                     + bytes.fromhex("%08x" % zlib.crc32(text))[::-1]
                     + bytes([len(text), 0, 0, 0]) + bytes([13] * 13))
    assert open_sealed(sealed) == "Door open \u00e9"


def test_every_flipped_byte_fails_the_mac():
    sealed = po().form("Freezer open", title="Kitchen").pairs
    value = dict(sealed)["message"]
    raw = bytearray(base64.b64decode(value))
    for i in range(len(raw)):
        for bit in (0x01, 0x80):
            raw[i] ^= bit
            with pytest.raises(InvalidSignature):
                open_sealed(base64.b64encode(bytes(raw)).decode())
            raw[i] ^= bit
    assert open_sealed(base64.b64encode(bytes(raw)).decode()) == "Freezer open"
    with pytest.raises(InvalidSignature):
        open_sealed(value, key=bytes(32))  # another key


def test_fresh_iv_for_every_field_and_every_send():
    p = po()
    seen = set()
    for _ in range(5):
        pairs = p.form("same", title="same", url="same", url_title="same").pairs
        for name, value in pairs:
            if name in e2e.FIELDS:
                iv = base64.b64decode(value)[:16]
                assert iv not in seen
                seen.add(iv)
    assert len(seen) == 20


def test_only_the_four_fields_are_encrypted_and_nothing_else_changes():
    fields = {"title": "Cellar", "url": "https://x.example/a?b=1", "url_title": "Open",
              "device": "phone", "priority": 1, "sound": "siren", "timestamp": 1700000000,
              "ttl": 60, "html": 1}
    plain = dict(Pushover(TOKEN, USER).form("Water high", **fields).pairs)
    sealed = dict(po().form("Water high", **fields).pairs)
    assert set(sealed) == set(plain) | {"encrypted"}
    for name in plain:
        if name in e2e.FIELDS:
            assert sealed[name] != plain[name] and open_sealed(sealed[name]) == plain[name]
        else:
            assert sealed[name] == plain[name], name
    assert list(sealed)[-1] == "encrypted" and list(sealed)[:2] == ["token", "user"]


def test_a_send_is_encrypted_on_the_wire_and_the_attachment_is_not():
    p = po()
    p.send("Motion", title="Door", attachment=JPEG, attachment_name="cam.jpg")
    call = p.transport.calls[0]
    assert call["length"] == call["declared"]
    form = p.form("Motion", title="Door", attachment=JPEG, boundary="B0undary")
    parts = parse_multipart(form.content_type, body_of(form))
    assert parts["attachment"][1] == JPEG
    assert parts["encrypted"][1] == b"1"
    assert open_sealed(parts["message"][1].decode()) == "Motion"
    assert open_sealed(parts["title"][1].decode()) == "Door"
    assert b"Motion" not in call["body"] and b"Door" not in call["body"]
    # URL-encoded: '+', '/' and '=' of Base64 survive the percent-encoding
    p.send("a" * 200)
    body = dict(parse_urlencoded(p.transport.calls[1]["body"]))
    assert open_sealed(body["message"]) == "a" * 200 and body["encrypted"] == "1"


BAD_KEYS = {"none": None, "int": 5, "bytes": b"\x00" * 32, "hex-bytes": KEY_HEX.encode(),
            "63-hex": KEY_HEX[:-1], "65-hex": KEY_HEX + "0", "not-hex": KEY_HEX[:-1] + "g",
            "space": " " + KEY_HEX[1:], "empty": "", "bytearray": bytearray(KEY)}


# ids name each case, so that no key reaches the test report
@pytest.mark.parametrize("key", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
def test_a_malformed_key_is_a_field_error_at_construction(key):
    if key is None:  # no key: no encryption, and e2e need not be loaded
        assert Pushover(TOKEN, USER, encryption_key=None)._e2e is None
        return
    with pytest.raises(FieldError) as err:
        Pushover(TOKEN, USER, encryption_key=key)
    assert err.value.field == "encryption_key"
    text = str(err.value) + repr(err.value) + repr(err.value.args)
    assert "hex" in text
    for secret in (KEY_HEX, KEY_HEX[:16], KEY_HEX[-16:], repr(KEY)[2:20]):
        assert secret not in text


def test_upper_case_hex_is_the_same_key():
    enc = e2e.Encryptor(KEY_HEX.upper())
    assert open_sealed(enc.seal("x")) == "x"


def test_no_cryptolib_is_an_error_at_construction(monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptolib", None)  # import fails as on a build without it
    with pytest.raises(e2e.EncryptionError) as err:
        Pushover(TOKEN, USER, encryption_key=KEY_HEX)
    assert isinstance(err.value, PushoverError) and "cryptolib" in str(err.value)


class Broken:
    """cryptolib.aes that fails part-way, as a firmware error or a MemoryError would."""

    def __init__(self, error):
        self.error = error

    def __call__(self, key, mode, iv):
        raise self.error


@pytest.mark.parametrize("error", [ValueError("key"), OSError(5), RuntimeError("x")])
def test_a_failure_mid_way_sends_nothing(error):
    p = po()
    p._e2e._aes = Broken(error)
    with pytest.raises(e2e.EncryptionError) as err:
        p.send("secret text", title="secret title")
    assert p.transport.calls == []
    assert "secret" not in str(err.value) and err.value.retry is False
    p._e2e._aes = Broken(MemoryError())
    with pytest.raises(PushoverError) as err:  # a heap too small: resend once it has room
        p.send("secret text")
    assert p.transport.calls == []
    assert err.value.retry is True and "nothing was sent" in str(err.value)


def test_a_failure_on_a_later_field_sends_nothing():
    """The message is sealed, then the title's cipher fails: the request never starts."""
    p = po()
    real = p._e2e._aes
    made = []

    def second_fails(key, mode, iv):
        made.append(iv)
        if len(made) == 2:
            raise ValueError("blksize % 16")
        return real(key, mode, iv)

    p._e2e._aes = second_fails
    with pytest.raises(e2e.EncryptionError) as err:
        p.send("secret text", title="secret title", url="https://secret.example")
    assert str(err.value).startswith("title:") and len(made) == 2
    assert p.transport.calls == []


def test_a_short_iv_sends_nothing():
    p = po()
    p._e2e._urandom = lambda n: b"\x00" * (n - 1)
    with pytest.raises(e2e.EncryptionError):
        p.send("x")
    assert p.transport.calls == []


def test_the_key_is_in_no_repr():
    p = po()
    for text in (repr(p), repr(p._e2e), str(p._e2e)):
        assert KEY_HEX not in text and KEY_HEX.upper() not in text and "6b0d5c3e" not in text
    assert not hasattr(p._e2e, "key_hex") and KEY_HEX not in repr(vars(p._e2e))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", TRANSPORTS)
def test_through_the_local_server_on_each_transport(kind, tmp_path):
    from localpushover.e2e import decrypt_fields, parse_key

    srv = start_server(tmp_path / kind)
    p = client(srv, kind, encryption_key=KEY_HEX)
    try:
        p.send("T\u00fcr offen & 50%", title="Garage")
    finally:
        close(p)
        srv.stop()
    stored = srv.messages()[0]["fields"]
    assert stored["encrypted"] == "1" and "offen" not in stored["message"]
    got = decrypt_fields(parse_key(KEY_HEX), stored)
    assert {k: v.text for k, v in got.items()} == {"message": "T\u00fcr offen & 50%",
                                                  "title": "Garage"}
