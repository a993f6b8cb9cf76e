"""The host stand-in for `cryptolib` (tools/shim/cryptolib.py) behaves as the firmware's
module does, and no more: checked against the `cryptography` package's AES and against the
rules of MicroPython's extmod/modcryptolib.c."""

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import cryptolib

KEY32 = bytes(range(32))
KEY16 = bytes(range(16))
IV = bytes(range(100, 116))
DATA = bytes(range(256)) * 2  # 512 bytes: 32 blocks


def reference(key, mode, data, encrypt=True):
    c = Cipher(algorithms.AES(key), mode)
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def test_it_is_the_shim():
    assert cryptolib.__file__.replace(os.sep, "/").endswith("tools/shim/cryptolib.py")


@pytest.mark.parametrize("key", [KEY16, KEY32])
def test_ecb_and_cbc_match_aes(key):
    assert cryptolib.aes(key, 1).encrypt(DATA) == reference(key, modes.ECB(), DATA)
    assert cryptolib.aes(key, 2, IV).encrypt(DATA) == reference(key, modes.CBC(IV), DATA)
    ct = reference(key, modes.CBC(IV), DATA)
    assert cryptolib.aes(key, 2, IV).decrypt(ct) == DATA


def test_cbc_chains_across_calls():
    enc = cryptolib.aes(KEY32, 2, IV)
    assert enc.encrypt(DATA[:48]) + enc.encrypt(DATA[48:]) == reference(KEY32, modes.CBC(IV),
                                                                        DATA)


def test_in_place_with_the_same_buffer_and_views():
    buf = bytearray(16 + len(DATA) + 32)
    buf[16 : 16 + len(DATA)] = DATA
    mv = memoryview(buf)[16 : 16 + len(DATA)]
    out = cryptolib.aes(KEY32, 2, IV).encrypt(mv, mv)
    assert out is mv
    assert bytes(buf[16 : 16 + len(DATA)]) == reference(KEY32, modes.CBC(IV), DATA)
    assert buf[:16] == bytes(16) and buf[-32:] == bytes(32)  # nothing outside the view moved


def test_out_buf_larger_is_written_at_its_start():
    out = bytearray(len(DATA) + 5)
    assert cryptolib.aes(KEY32, 1).encrypt(DATA, out) is out
    assert bytes(out[: len(DATA)]) == reference(KEY32, modes.ECB(), DATA)
    assert out[len(DATA):] == bytes(5)


def test_errors_as_the_firmware_raises_them():
    def value_error(text, call):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value) == text

    value_error("mode", lambda: cryptolib.aes(KEY32, 3, IV))
    value_error("mode", lambda: cryptolib.aes(KEY32, 6, IV))  # no CTR in ESP32 firmware
    value_error("key", lambda: cryptolib.aes(bytes(24), 2, IV))  # no AES-192
    value_error("IV", lambda: cryptolib.aes(KEY32, 2))
    value_error("IV", lambda: cryptolib.aes(KEY32, 2, bytes(15)))
    value_error("blksize % 16", lambda: cryptolib.aes(KEY32, 2, IV).encrypt(bytes(17)))
    value_error("blksize % 16", lambda: cryptolib.aes(KEY32, 1).decrypt(bytes(8)))
    value_error("output too small",
                lambda: cryptolib.aes(KEY32, 1).encrypt(bytes(32), bytearray(16)))
    enc = cryptolib.aes(KEY32, 2, IV)
    enc.encrypt(bytes(16))
    value_error("can't encrypt & decrypt", lambda: enc.decrypt(bytes(16)))
    dec = cryptolib.aes(KEY32, 2, IV)
    dec.decrypt(bytes(16))
    value_error("can't encrypt & decrypt", lambda: dec.encrypt(bytes(16)))
    with pytest.raises(TypeError):
        cryptolib.aes(KEY32, 1).encrypt(bytes(16), bytes(16))  # not writable
    with pytest.raises(TypeError):
        cryptolib.aes(KEY32, 1).encrypt(16)
    with pytest.raises(TypeError):
        cryptolib.aes(KEY32, 2, IV=IV)  # the firmware takes no keywords
    with pytest.raises(TypeError):
        cryptolib.aes(KEY32, 1).encrypt(bytes(16), out_buf=bytearray(16))


def test_no_more_than_the_firmware_has():
    public = {n for n in dir(cryptolib) if not n.startswith("_")}
    assert public == {"aes"}
    assert not hasattr(cryptolib, "MODE_CBC") and not hasattr(cryptolib, "aesgcm")
    methods = {n for n in dir(cryptolib.aes(KEY32, 1)) if not n.startswith("_")}
    assert methods == {"encrypt", "decrypt"}


def test_ctr_when_the_firmware_has_it(monkeypatch):
    monkeypatch.setattr(cryptolib, "_WITH_CTR", True)
    data = DATA[:37]  # any length in CTR
    enc = cryptolib.aes(KEY32, 6, IV)
    assert enc.encrypt(data[:5]) + enc.encrypt(data[5:]) == reference(KEY32, modes.CTR(IV), data)
