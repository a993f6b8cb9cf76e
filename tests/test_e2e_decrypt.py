"""tools/e2e_decrypt.py, the local server's reading of encrypted fields: it reads what the
library seals, and what the reference implementations seal (with gzip's real compression, as
host senders do), and says why it cannot read a field: no key, bad MAC, malformed."""

import base64
import gzip
import os

import pytest
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import e2e_decrypt
from e2e_decrypt import BAD_MAC, MALFORMED, NO_KEY, decrypt_field, decrypt_fields, parse_key
from pushover import e2e

KEY_HEX = "00112233445566778899aabbccddeeff" "ffeeddccbbaa99887766554433221100"
KEY = bytes.fromhex(KEY_HEX)


def seal_reference(plain_bytes, key=KEY, iv=None, mac_key=None):
    """A sealed value built with the reference implementations only, from any bytes."""
    iv = iv or os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain_bytes) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = enc.update(padded) + enc.finalize()
    mac = hmac.HMAC(mac_key or key, hashes.SHA256())
    mac.update(iv + body)
    return base64.b64encode(iv + body + mac.finalize()).decode()


def test_reads_what_the_library_seals():
    enc = e2e.Encryptor(KEY_HEX)
    for text in ("", "Door open", "\u20ac\U0001f600" * 300, "x" * 4096):
        got = decrypt_field(parse_key(KEY_HEX), enc.seal(text))
        assert got.ok and got.text == text and got.reason is None


def test_reads_real_gzip_compression_too():
    text = "Alarm " * 500
    got = decrypt_field(KEY, seal_reference(gzip.compress(text.encode())))
    assert got.ok and got.text == text


def test_no_key():
    got = decrypt_field(None, e2e.Encryptor(KEY_HEX).seal("x"))
    assert not got.ok and got.text is None and got.reason == NO_KEY


def test_bad_mac_for_a_wrong_key_or_any_changed_byte():
    value = e2e.Encryptor(KEY_HEX).seal("Freezer open")
    assert decrypt_field(bytes(32), value).reason == BAD_MAC
    raw = bytearray(base64.b64decode(value))
    for i in range(len(raw)):
        raw[i] ^= 0x10
        got = decrypt_field(KEY, base64.b64encode(bytes(raw)).decode())
        assert not got.ok and got.reason == BAD_MAC and got.text is None, i
        raw[i] ^= 0x10
    # a MAC made with another key over the right ciphertext
    assert decrypt_field(KEY, seal_reference(b"x", mac_key=bytes(32))).reason == BAD_MAC


@pytest.mark.parametrize("value,why", [
    ("not base64!", "not Base64"),
    (base64.b64encode(bytes(63)).decode(), "63 bytes"),
    (base64.b64encode(bytes(16 + 20 + 32)).decode(), "68 bytes"),
    ("\u00e9" * 108, "not Base64"),
])
def test_malformed_values(value, why):
    got = decrypt_field(KEY, value)
    assert not got.ok and got.reason.startswith(MALFORMED + ": ") and why in got.reason


@pytest.mark.parametrize("plain,why", [
    (b"not gzip at all", "not gzip"),
    (gzip.compress(b"\xff\xfe text"), "not UTF-8"),
    (gzip.compress(b"abc")[:-4], "cut short"),
    (gzip.compress(b"abc") + b"more", "followed by"),
    (gzip.compress(bytes(e2e_decrypt.MAX_PLAINTEXT + 1)), "inflates past"),
])
def test_authentic_but_unreadable(plain, why):
    got = decrypt_field(KEY, seal_reference(plain))
    assert not got.ok and got.reason.startswith(MALFORMED) and why in got.reason, got.reason


def test_bad_padding_under_a_good_mac():
    iv = bytes(16)
    enc = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
    body = enc.update(b"A" * 16) + enc.finalize()  # last byte 0x41: no valid PKCS7
    mac = hmac.HMAC(KEY, hashes.SHA256())
    mac.update(iv + body)
    value = base64.b64encode(iv + body + mac.finalize()).decode()
    assert decrypt_field(KEY, value).reason == MALFORMED + ": bad padding"


def test_decrypt_fields_of_a_received_message():
    enc = e2e.Encryptor(KEY_HEX)
    fields = {"token": "t", "message": enc.seal("m"), "title": enc.seal("t"),
              "url": enc.seal("u"), "priority": "1", "encrypted": "1"}
    got = decrypt_fields(KEY, fields)
    assert {k: v.text for k, v in got.items()} == {"message": "m", "title": "t", "url": "u"}
    assert {k: v.reason for k, v in decrypt_fields(None, fields).items()} == {
        "message": NO_KEY, "title": NO_KEY, "url": NO_KEY}
    assert decrypt_fields(KEY, dict(fields, encrypted="0")) == {}
    assert decrypt_fields(KEY, {"message": "plain"}) == {}


@pytest.mark.parametrize("bad", [KEY_HEX[:-1], KEY_HEX + "0", KEY_HEX[:-1] + "z", 7, KEY],
                         ids=["63-hex", "65-hex", "not-hex", "int", "bytes"])  # no key in ids
def test_a_malformed_key_names_the_rule_not_the_value(bad):
    with pytest.raises(ValueError) as err:
        parse_key(bad)
    assert "hex" in str(err.value)
    assert KEY_HEX[:12] not in str(err.value) and KEY_HEX[-12:] not in str(err.value)


def test_results_keep_the_plaintext_out_of_their_repr():
    got = decrypt_field(KEY, e2e.Encryptor(KEY_HEX).seal("very private"))
    assert got.text == "very private" and "private" not in repr(got)
    assert "no key" in repr(decrypt_field(None, "x"))
