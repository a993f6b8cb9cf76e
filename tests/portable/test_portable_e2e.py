"""End-to-end encryption's own parts (key, gzip framing, PKCS7, HMAC, the sealed layout) as
plain functions and asserts, so MicroPython (which has hashlib and binascii but, in the WASI
build, no cryptolib) is held to the same answers as CPython. The gzip framing is read back by
the runtime's own decoder: `deflate` on MicroPython, `gzip` on CPython."""

import sys
from binascii import a2b_base64, crc32

from fakes import FakeTransport, raises

from pushover import FieldError, Pushover, PushoverError, e2e

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def hexs(data):
    return "".join("%02x" % b for b in data)


def gunzip(data):
    """Decompressed by the runtime's own gzip reader."""
    try:
        import io

        import deflate  # MicroPython

        return deflate.DeflateIO(io.BytesIO(data), deflate.GZIP).read()
    except ImportError:
        import gzip

        return gzip.decompress(data)


def test_key_parsing():
    assert e2e.parse_key(KEY_HEX) == bytes(range(32))
    assert e2e.parse_key(KEY_HEX.upper()) == bytes(range(32))
    for bad in (KEY_HEX[:-1], KEY_HEX + "f", KEY_HEX[:-1] + "x", "", None, 123,
                KEY_HEX.encode(), bytes(range(32)), "\u0661" * 64):
        err = raises(FieldError, e2e.parse_key, bad)
        assert err.field == "encryption_key", err.field
        assert "hex" in str(err)
        assert KEY_HEX[:10] not in str(err) and KEY_HEX[-10:] not in str(err)


def test_hmac_sha256_against_rfc_4231():
    cases = (  # (key, data, HMAC-SHA256): test cases 1, 2 and 6 of RFC 4231
        (b"\x0b" * 20, b"Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe", b"what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    )
    for key, data, mac in cases:
        pads = e2e.hmac_pads(key)
        assert hexs(e2e.hmac_sha256(pads, data)) == mac
        buf = bytearray(b"..." + data + b"...")  # a view into a larger buffer, as sealed
        assert hexs(e2e.hmac_sha256(pads, memoryview(buf)[3:-3])) == mac


def test_gzip_framing_of_stored_blocks():
    hello = bytearray(e2e.gzip_size(5))
    assert e2e.gzip_into(hello, 0, b"hello") == len(hello) == 28
    assert hexs(hello) == ("1f8b08000000000000ff" "010500faff" "68656c6c6f"
                           "86a61036" "05000000")
    empty = bytearray(e2e.gzip_size(0))
    assert e2e.gzip_into(empty, 0, b"") == 23
    assert hexs(empty) == "1f8b08000000000000ff" "010000ffff" "00000000" "00000000"
    for data in (b"hello", b"", bytes(range(256)) * 5, "T\u00fcr \U0001f600".encode()):
        buf = bytearray(3 + e2e.gzip_size(len(data)))
        assert e2e.gzip_into(buf, 3, data) == len(buf)
        assert gunzip(bytes(buf[3:])) == data


def test_gzip_framing_splits_blocks_at_65535_bytes():
    data = bytes(range(256)) * 300  # 76,800 bytes: two stored blocks
    buf = bytearray(e2e.gzip_size(len(data)))
    assert len(buf) == 10 + 5 + 65535 + 5 + (len(data) - 65535) + 8
    e2e.gzip_into(buf, 0, data)
    assert hexs(buf[10:15]) == "00ffff0000"  # not final, 65535 bytes
    second = 15 + 65535
    assert hexs(buf[second:second + 5]) == "01" + "%02x%02x" % (11265 & 255, 11265 >> 8) + \
        "%02x%02x" % ((11265 ^ 0xFFFF) & 255, (11265 ^ 0xFFFF) >> 8)
    crc = crc32(data) & 0xFFFFFFFF
    assert bytes(buf[-8:-4]) == bytes([(crc >> s) & 255 for s in (0, 8, 16, 24)])
    assert gunzip(bytes(buf)) == data


def test_pkcs7_padding():
    for n in range(0, 50):
        size = e2e.padded_size(n)
        assert size % 16 == 0 and n < size <= n + 16
        buf = bytearray(b"\xee" * (2 + size))
        assert e2e.pad_into(buf, 2, 2 + n) == 2 + size
        k = size - n
        assert bytes(buf[2 + n:]) == bytes([k] * k)
        assert buf[:2] == b"\xee\xee"


def test_sealed_sizes():
    # IV + padded gzip + MAC; Base64 of it is what the field's value is
    assert e2e.sealed_size(0) == 16 + 32 + 32
    assert e2e.sealed_size(1024) == 16 + 1056 + 32
    assert e2e.sealed_size(4096) == 16 + 4128 + 32


class Identity:
    """Stands in for cryptolib.aes where the WASI build has none: checks how it is called
    (mode 2, a 32-byte key, a 16-byte IV, in place) and leaves the data as it is, so that the
    layout around it can be checked on every runtime."""

    calls = []

    def __init__(self, key, mode, iv):
        assert mode == 2 and len(key) == 32 and len(iv) == 16
        Identity.calls.append(bytes(iv))

    def encrypt(self, in_buf, out_buf):
        assert len(in_buf) % 16 == 0
        assert in_buf is out_buf  # in place
        return out_buf


def encryptor_with(aes):
    """An Encryptor whose cipher is `aes`, made whether or not this runtime has cryptolib."""
    saved = sys.modules.get("cryptolib")
    class module:  # noqa: N801 (MicroPython cannot make module objects at run time)
        pass

    module.aes = aes
    sys.modules["cryptolib"] = module
    try:
        return e2e.Encryptor(KEY_HEX)
    finally:
        if saved is None:
            del sys.modules["cryptolib"]
        else:
            sys.modules["cryptolib"] = saved


def sealed_layout(text):
    enc = encryptor_with(Identity)
    enc._urandom = lambda n: bytes(range(100, 100 + n))
    value = enc.seal(text)
    raw = a2b_base64(value)
    return value, raw


def test_sealed_layout():
    for text in ("", "Door open", "T\u00fcr offen \U0001f600" * 40):
        value, raw = sealed_layout(text)
        data = text.encode()
        assert len(raw) == e2e.sealed_size(len(data))
        assert len(value) == (len(raw) + 2) // 3 * 4 and "\n" not in value
        assert raw[:16] == bytes(range(100, 116))
        body = raw[16:-32]
        k = body[-1]
        assert 1 <= k <= 16 and body[-k:] == bytes([k] * k)
        assert gunzip(body[:-k]) == data
        assert raw[-32:] == e2e.hmac_sha256(e2e.hmac_pads(bytes(range(32))), raw[:-32])


def sealed_digests():
    """Sealed values (fixed IV, identity cipher) as printed text, to compare runtimes."""
    return [sealed_layout(text)[0] for text in ("", "Door open", "\u20ac\U0001f600" * 100)]


def test_a_send_encrypts_the_four_fields_with_a_fresh_iv_each():
    fake = FakeTransport(keep=True)
    po = Pushover(TOKEN, USER, transport=fake)
    po._e2e = enc = encryptor_with(Identity)  # as Pushover(..., encryption_key=) makes it
    # a counting random source: the WASI build's os.urandom returns the same bytes on every
    # call (tools/mpyrun.py); what is checked here is that each field asks for its own IV
    drawn = []

    def urandom(n):
        drawn.append(bytes([len(drawn)]) * n)
        return drawn[-1]

    enc._urandom = urandom
    Identity.calls = []
    form = po.form("m", title="t", url="u", url_title="v", priority=1)
    names = [name for name, _ in form.pairs]
    assert names == ["token", "user", "message", "title", "url", "url_title", "priority",
                     "encrypted"]
    assert dict(form.pairs)["priority"] == "1" and dict(form.pairs)["encrypted"] == "1"
    assert Identity.calls == drawn and len(drawn) == 4
    for i, name in enumerate(("message", "title", "url", "url_title")):
        assert a2b_base64(dict(form.pairs)[name])[:16] == drawn[i]
    po.send("m", title="t")
    assert Identity.calls == drawn and len(drawn) == 6
    assert fake.calls[0]["length"] == fake.calls[0]["declared"]


def test_with_a_key_nothing_goes_out_in_plaintext():
    """On a runtime without cryptolib (the WASI build) a key is refused at construction;
    with it, sends are sealed. Either way no field leaves in plaintext."""
    try:
        import cryptolib  # noqa: F401

        have = True
    except ImportError:
        have = False
    fake = FakeTransport(keep=True)
    if not have:
        err = raises(PushoverError, Pushover, TOKEN, USER, transport=fake,
                     encryption_key=KEY_HEX)
        assert "cryptolib" in str(err)
        assert fake.calls == []
        return
    po = Pushover(TOKEN, USER, transport=fake, encryption_key=KEY_HEX)
    po.send("plaintext message", title="plaintext title")
    assert b"plaintext" not in fake.calls[0]["body"]
    assert b"encrypted=1" in fake.calls[0]["body"]
