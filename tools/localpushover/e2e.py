"""Reading end-to-end encrypted fields (`encrypted=1`) as a phone does: plain functions, no
sockets, for the local server's inbox (host side only; uses the `cryptography` package).

A field's value is Base64 of IV (16 bytes) || AES-256-CBC ciphertext || HMAC-SHA256 (32 bytes)
over IV || ciphertext, with the same key; the plaintext is PKCS7-padded gzip of UTF-8 text
(SPEC.md section 8). The MAC is checked, in constant time, before anything is decrypted.

    key = parse_key("<64 hex characters>")        # ValueError for a malformed key
    r = decrypt_field(key, value)                 # key may be None: r.reason == "no key"
    r.ok, r.text, r.reason                        # text when ok; reason: no key / bad MAC / malformed: ...
    decrypt_fields(key, {"message": ..., "encrypted": "1", ...})   # {field: Decrypted}

No result or error ever holds the key.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FIELDS = ("message", "title", "url", "url_title")
IV_SIZE = 16
MAC_SIZE = 32
MAX_PLAINTEXT = 64 * 1024  # bytes of text a field may inflate to (the API's limits are far lower)

NO_KEY = "no key"
BAD_MAC = "bad MAC"  # a wrong key, or a value changed on the way
MALFORMED = "malformed"


@dataclass(frozen=True)
class Decrypted:
    """The outcome for one field: `text` when `ok`, else `reason` says why it cannot be read
    (NO_KEY, BAD_MAC, or MALFORMED followed by ": " and what is wrong)."""

    ok: bool
    text: str | None = None
    reason: str | None = None

    def __repr__(self) -> str:  # the plaintext is the user's; keep it out of logs too
        return "Decrypted(ok)" if self.ok else "Decrypted(%s)" % self.reason


def parse_key(key_hex: str) -> bytes:
    """The 64 hex characters of a key as 32 bytes; ValueError naming the rule, not the value."""
    if not isinstance(key_hex, str):
        raise ValueError("encryption key: must be a str of 64 hex characters")
    if len(key_hex) != 64:
        raise ValueError("encryption key: must be exactly 64 hex characters (got %d)"
                         % len(key_hex))
    try:
        return bytes.fromhex(key_hex)
    except ValueError:
        raise ValueError("encryption key: may hold only hex digits 0-9, a-f, A-F") from None


def _unreadable(why: str) -> Decrypted:
    return Decrypted(False, reason=MALFORMED + ": " + why)


def decrypt_field(key: bytes | None, value: str | bytes) -> Decrypted:
    """One field's value as the phone would read it with `key` (32 bytes, from parse_key(), or
    None when the server was given no key)."""
    if key is None:
        return Decrypted(False, reason=NO_KEY)
    if len(key) != 32:
        raise ValueError("encryption key: must be 32 bytes")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return _unreadable("not Base64")
    if len(raw) < IV_SIZE + 16 + MAC_SIZE or (len(raw) - IV_SIZE - MAC_SIZE) % 16:
        return _unreadable("%d bytes is no IV, whole AES blocks and MAC" % len(raw))
    iv, body, mac = raw[:IV_SIZE], raw[IV_SIZE:-MAC_SIZE], raw[-MAC_SIZE:]
    check = hmac.HMAC(key, hashes.SHA256())
    check.update(iv + body)
    try:
        check.verify(mac)
    except InvalidSignature:
        return Decrypted(False, reason=BAD_MAC)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        packed = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return _unreadable("bad padding")
    inflate = zlib.decompressobj(wbits=31)  # gzip container only
    try:
        data = inflate.decompress(packed, MAX_PLAINTEXT)
    except zlib.error:
        return _unreadable("not gzip")
    if inflate.unconsumed_tail:
        return _unreadable("inflates past %d bytes" % MAX_PLAINTEXT)
    if not inflate.eof or inflate.unused_data:
        return _unreadable("gzip stream cut short or followed by other bytes")
    try:
        return Decrypted(True, text=data.decode("utf-8"))
    except UnicodeDecodeError:
        return _unreadable("not UTF-8 text")


def decrypt_fields(key: bytes | None, fields: dict[str, str]) -> dict[str, Decrypted]:
    """For a received message (field name -> value): {name: Decrypted} of the encryptable
    fields present, if it carries encrypted=1; {} for a message sent in plaintext."""
    if str(fields.get("encrypted", "")).strip() != "1":
        return {}
    return {name: decrypt_field(key, fields[name]) for name in FIELDS if name in fields}
