"""tools/localpushover/e2e.py, the local server's reading of encrypted fields: it reads what the
library seals, and what the reference implementations seal (with gzip's real compression, as
host senders do), and says why it cannot read a field: no key, bad MAC, malformed."""

import base64
import gzip
import os

import pytest
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from localpushover import e2e as e2e_decrypt
from localpushover.e2e import BAD_MAC, MALFORMED, NO_KEY, decrypt_field, decrypt_fields, parse_key
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
    got = decrypt_field(KEY, seal_reference(gzip.compress(text.encode(), mtime=0)))
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
    (gzip.compress(b"\xff\xfe text", mtime=0), "not UTF-8"),
    (gzip.compress(b"abc", mtime=0)[:-4], "cut short"),
    (gzip.compress(b"abc", mtime=0) + b"more", "followed by"),
    (gzip.compress(bytes(e2e_decrypt.MAX_PLAINTEXT + 1), mtime=0), "inflates past"),
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


# ---- the server given the key (--encryption-key): reads encrypted messages as the phone does

def _post(srv, fields):
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(srv.api_url + "/messages.json", body, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


TOKEN = "e2eTokenA1b2C3d4E5f6G7h8J9k0L1"
USER = "e2eUserKeyZ9y8X7w6V5u4T3s2R1q0"


@pytest.fixture
def keyed(tmp_path):
    from localpushover import PushoverServer

    with PushoverServer(port=0, data_dir=tmp_path / "keyed", max_seconds=60,
                        encryption_key=KEY_HEX) as srv:
        yield srv


@pytest.fixture
def keyless(tmp_path):
    from localpushover import PushoverServer

    with PushoverServer(port=0, data_dir=tmp_path / "keyless", max_seconds=60) as srv:
        yield srv


def _sealed(**plain):
    enc = e2e.Encryptor(KEY_HEX)
    fields = {"token": TOKEN, "user": USER, "encrypted": "1"}
    fields.update({name: enc.seal(text) for name, text in plain.items()})
    return fields


def test_the_inbox_shows_the_plaintext_marked_as_encrypted(keyed):
    from localpushover import inbox

    status, _ = _post(keyed, _sealed(message="Door <b>open</b>", title="Garage",
                                     url="https://cam.example/1", url_title="Camera"))
    assert status == 200
    (record,) = keyed.messages()
    assert record["e2e"]["message"] == {"ok": True, "text": "Door <b>open</b>"}
    page = inbox.message_list(keyed.store)
    assert "end-to-end encrypted" in page and "Garage" in page and "Camera" in page
    assert "Door &lt;b&gt;open&lt;/b&gt;" in page  # escaped as any text
    assert record["fields"]["message"] not in page  # the Base64 is not what is shown


def test_without_the_key_or_with_a_bad_mac_the_inbox_says_it_cannot_read(keyless, keyed):
    from localpushover import inbox

    assert _post(keyless, _sealed(message="secret"))[0] == 200
    page = inbox.message_list(keyless.store)
    assert "cannot read (no key)" in page and "secret" not in page
    bad = _sealed(message="secret")
    raw = bytearray(base64.b64decode(bad["message"]))
    raw[20] ^= 1
    bad["message"] = base64.b64encode(bytes(raw)).decode()
    assert _post(keyed, bad)[0] == 200
    page = inbox.message_list(keyed.store)
    assert "cannot read (bad MAC)" in page and "secret" not in page


def test_limits_apply_to_the_plaintext_when_the_server_can_read_it(keyed, keyless):
    # any sealed url_title is longer than 100 characters: taken, as the plaintext is short
    fields = _sealed(message="m", url="https://x.example/", url_title="Camera")
    assert len(fields["url_title"]) > 100
    assert _post(keyed, fields)[0] == 200
    assert _post(keyless, fields)[0] == 200  # unreadable: not held to the limits
    status, reply = _post(keyed, _sealed(message="m", title="t" * 251))
    assert status == 400 and "title" in reply and "at most 250" in " ".join(reply["errors"])
    status, reply = _post(keyed, _sealed(message="x" * 1025))
    assert status == 400 and "message" in reply
    assert _post(keyed, _sealed(message="x" * 1024, title="t" * 250))[0] == 200


def test_encrypted_must_be_a_flag(keyless):
    fields = _sealed(message="m")
    fields["encrypted"] = "2"
    status, reply = _post(keyless, fields)
    assert status == 400 and "encrypted" in reply


def test_the_cli_refuses_a_malformed_key_without_echoing_it(tmp_path, capsys):
    from localpushover import main

    bad = "zz" + KEY_HEX[2:]
    assert main(["--port", "0", "--data", str(tmp_path), "--encryption-key", bad,
                 "--max-seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert "--encryption-key" in err and bad not in err and KEY_HEX[4:] not in err
