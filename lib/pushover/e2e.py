"""End-to-end encryption of message fields (Pushover's `encrypted=1`), imported only when a
Pushover() is given an `encryption_key`.

Each of message, title, url and url_title becomes, on its own and with a fresh IV each time:

    Base64( IV || AES-256-CBC(key, IV, PKCS7(gzip(UTF-8 text))) || HMAC-SHA256(key, IV || ct) )

The firmware cannot compress (its `deflate` only decompresses), so the gzip container holds
stored (uncompressed) deflate blocks, which every gzip reader accepts. One buffer per field
holds IV, the framed and padded text (encrypted in place) and the MAC; the only other large
allocation is the Base64 text itself. The key is kept as bytes only, never as its hex text,
and never appears in an error or a repr.
"""

import hashlib
from binascii import b2a_base64, crc32, unhexlify
from struct import pack_into

from micropython import const

from .errors import FieldError, PushoverError

_KEY_HEX = const(64)
_BLOCK = const(16)
_MAC = const(32)
_HMAC_BLOCK = const(64)
_STORED_MAX = const(65535)
_GZIP_HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, OS unknown
_CBC = const(2)  # cryptolib's mode number; ESP32 firmware has no MODE_* constants

FIELDS = ("message", "title", "url", "url_title")


class EncryptionError(PushoverError):
    """Encryption was asked for and cannot be done: nothing was sent."""


def parse_key(value):
    """The key the Pushover app shows (64 hex characters) as 32 bytes; FieldError otherwise,
    naming the rule and never the value."""
    if not isinstance(value, str):
        raise FieldError("encryption_key", "must be a str of 64 hex characters")
    if len(value) != _KEY_HEX:
        raise FieldError("encryption_key", "must be exactly 64 hex characters", _KEY_HEX,
                         len(value))
    for c in value:
        if not ("0" <= c <= "9" or "a" <= c <= "f" or "A" <= c <= "F"):
            raise FieldError("encryption_key", "may hold only hex digits 0-9, a-f, A-F")
    return unhexlify(value)


def hmac_pads(key):
    """(inner, outer) pad blocks of HMAC-SHA256 for `key` (RFC 2104): the firmware has no
    `hmac` module, and its sha256 objects cannot be copied, so the pads are kept instead."""
    if len(key) > _HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    inner = bytearray(_HMAC_BLOCK)
    outer = bytearray(_HMAC_BLOCK)
    for i in range(_HMAC_BLOCK):
        k = key[i] if i < len(key) else 0
        inner[i] = k ^ 0x36
        outer[i] = k ^ 0x5C
    return bytes(inner), bytes(outer)


def hmac_sha256(pads, data):
    """HMAC-SHA256 of `data` (any bytes-like object) with the pads from hmac_pads()."""
    inner = hashlib.sha256(pads[0])
    inner.update(data)
    outer = hashlib.sha256(pads[1])
    outer.update(inner.digest())
    return outer.digest()


def gzip_size(n):
    """Bytes in a gzip stream of stored blocks holding `n` bytes: header, 5 bytes per block
    (at least one block, even for no data), the data, CRC32 and size."""
    blocks = (n + _STORED_MAX - 1) // _STORED_MAX or 1
    return len(_GZIP_HEAD) + 5 * blocks + n + 8


def gzip_into(buf, at, raw):
    """Write `raw` as a gzip stream of stored deflate blocks into `buf` from index `at`;
    returns the index after it (at + gzip_size(len(raw)))."""
    n = len(raw)
    buf[at : at + len(_GZIP_HEAD)] = _GZIP_HEAD
    at += len(_GZIP_HEAD)
    done = 0
    while True:
        k = min(n - done, _STORED_MAX)
        last = done + k == n
        pack_into("<BHH", buf, at, 1 if last else 0, k, k ^ 0xFFFF)  # BFINAL, stored; LEN, NLEN
        at += 5
        buf[at : at + k] = raw[done : done + k] if k != n else raw
        at += k
        done += k
        if last:
            break
    # little-endian CRC32 and size; pack_into, as shifting a 32-bit value makes long ints
    pack_into("<II", buf, at, crc32(raw), n & 0xFFFFFFFF)
    return at + 8


def padded_size(n):
    """Length of `n` bytes after PKCS7 padding to 16: always at least one byte of padding."""
    return (n // _BLOCK + 1) * _BLOCK


def pad_into(buf, start, end):
    """PKCS7-pad the data in buf[start:end] in place; returns the new end."""
    k = _BLOCK - (end - start) % _BLOCK
    for i in range(end, end + k):
        buf[i] = k
    return end + k


def sealed_size(n):
    """Bytes of IV || ciphertext || MAC for `n` bytes of UTF-8 text (before Base64)."""
    return _BLOCK + padded_size(gzip_size(n)) + _MAC


class Encryptor:
    """Seals field values with one key. Raises EncryptionError at construction if the
    firmware lacks what encryption needs (cryptolib, os.urandom)."""

    def __init__(self, key):
        key = parse_key(key)
        try:
            from cryptolib import aes
        except ImportError:
            raise EncryptionError("encryption_key: this firmware has no cryptolib (AES); "
                                  "nothing can be sent encrypted") from None
        try:
            from os import urandom
        except ImportError:
            raise EncryptionError("encryption_key: this firmware has no os.urandom; "
                                  "nothing can be sent encrypted") from None
        self._aes = aes
        self._key = key
        self._pads = hmac_pads(key)
        self._urandom = urandom  # replaced only by tests, for known answers

    def __repr__(self):
        return "<Encryptor>"

    def seal(self, text):
        """`text` (a str) as the Base64 value of an encrypted field."""
        raw = text.encode()
        size = sealed_size(len(raw))
        buf = bytearray(size)
        mv = memoryview(buf)
        iv = self._urandom(_BLOCK)  # a fresh IV for every field of every send
        if len(iv) != _BLOCK:
            raise EncryptionError("IV: the random source gave no 16 bytes")
        buf[:_BLOCK] = iv
        end = pad_into(buf, _BLOCK, gzip_into(buf, _BLOCK, raw))
        body = mv[_BLOCK:end]
        self._aes(self._key, _CBC, iv).encrypt(body, body)
        buf[end:] = hmac_sha256(self._pads, mv[:end])
        return b2a_base64(buf, newline=False).decode()

    def encrypt_pairs(self, pairs):
        """The checked (name, value) pairs with message, title, url and url_title sealed, and
        encrypted=1 appended. Any failure raises (EncryptionError for an unexpected one), so
        a field is never sent in plaintext."""
        out = []
        for name, value in pairs:
            if name in FIELDS:
                try:
                    value = self.seal(value)
                except (PushoverError, MemoryError):
                    raise
                except Exception:
                    raise EncryptionError(name + ": could not be encrypted; nothing was sent"
                                          ) from None
            out.append((name, value))
        out.append(("encrypted", "1"))
        return out
