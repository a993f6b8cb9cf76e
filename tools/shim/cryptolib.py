"""Host-only stand-in for MicroPython's `cryptolib` (never copied to a board), over the
`cryptography` package's AES.

It models the module as the ESP32 generic firmware builds it (extmod/modcryptolib.c with
mbedTLS; MICROPY_PY_CRYPTOLIB_CTR and MICROPY_PY_CRYPTOLIB_CONSTS off), as MicroPython's
documentation and that source describe it:

- one class, `aes(key, mode[, IV])`; no MODE_* constants. Modes: 1 (ECB) and 2 (CBC); 6 (CTR)
  only when the private module attribute _WITH_CTR is True (a firmware built with CTR), else
  ValueError("mode"), as on a generic ESP32 build.
- key: a bytes-like object of 16 or 32 bytes, else ValueError("key") (no AES-192).
- IV: 16 bytes, else ValueError("IV"); required for CBC and CTR (ValueError("IV") without it).
- `encrypt(in_buf[, out_buf])` / `decrypt(...)`: in ECB and CBC the length must be a multiple
  of 16, else ValueError("blksize % 16"). Without `out_buf` a new `bytes` is returned; with
  it the result is written to its start (ValueError("output too small") if shorter than
  `in_buf`) and `out_buf` itself is returned. `in_buf` and `out_buf` may be the same buffer.
- CBC and CTR chain across calls: two encrypt() calls equal one over both inputs.
- an object that has encrypted cannot decrypt and vice versa: ValueError("can't encrypt &
  decrypt").
- a buffer is anything with the buffer protocol, which on MicroPython includes `str` (read as
  its UTF-8 bytes); anything else is a TypeError. `out_buf` must be writable.

Nothing else: no `aesgcm`, no keyword arguments, no other public attributes.
"""

from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher
from cryptography.hazmat.primitives.ciphers import algorithms as _algorithms
from cryptography.hazmat.primitives.ciphers import modes as _modes

_WITH_CTR = False  # True models a firmware built with MICROPY_PY_CRYPTOLIB_CTR

_ECB = 1
_CBC = 2
_CTR = 6


def _read_buffer(obj):
    if isinstance(obj, str):
        return obj.encode()
    try:
        return bytes(memoryview(obj))
    except TypeError:
        raise TypeError("object with buffer protocol required") from None


class aes:  # noqa: N801 (the firmware's name)
    def __init__(self, key, mode, IV=None, /):  # noqa: N803 (the documented name)
        mode = int(mode)
        if mode not in (_ECB, _CBC) and not (mode == _CTR and _WITH_CTR):
            raise ValueError("mode")
        key = _read_buffer(key)
        if len(key) not in (16, 32):
            raise ValueError("key")
        if IV is not None:
            IV = _read_buffer(IV)
            if len(IV) != 16:
                raise ValueError("IV")
        elif mode != _ECB:
            raise ValueError("IV")
        if mode == _ECB:
            chain = _modes.ECB()
        elif mode == _CBC:
            chain = _modes.CBC(IV)
        else:
            chain = _modes.CTR(IV)
        self.__cipher = _Cipher(_algorithms.AES(key), chain)
        self.__mode = mode
        self.__engine = None
        self.__encrypting = None

    def __process(self, encrypt, in_buf, out_buf):
        data = _read_buffer(in_buf)
        if self.__mode != _CTR and len(data) % 16:
            raise ValueError("blksize % 16")
        if out_buf is not None:
            try:
                out = memoryview(out_buf)
            except TypeError:
                raise TypeError("object with buffer protocol required") from None
            if out.readonly:
                raise TypeError("object with buffer protocol required")
            out = out.cast("B")
            if len(out) < len(data):
                raise ValueError("output too small")
        if self.__engine is None:
            self.__encrypting = encrypt
            self.__engine = self.__cipher.encryptor() if encrypt else self.__cipher.decryptor()
        elif self.__encrypting != encrypt:
            raise ValueError("can't encrypt & decrypt")
        result = self.__engine.update(data)
        if out_buf is None:
            return result
        out[: len(result)] = result
        return out_buf

    def encrypt(self, in_buf, out_buf=None, /):
        return self.__process(True, in_buf, out_buf)

    def decrypt(self, in_buf, out_buf=None, /):
        return self.__process(False, in_buf, out_buf)
