"""Guest script (MicroPython): what end-to-end encryption allocates, printed as name=bytes.

The collector is off (see tools/mpyrun.py), so gc.mem_alloc() counts every byte allocated.
The WASI build has no cryptolib: `Cipher` below stands in for it, encrypting nothing (in
place, as the real one does with an out_buf) and allocating what the C object of ESP32
firmware takes (mp_obj_aes_t with its mbedTLS context: about 300 bytes). Everything else is
the library's own code: key, pads, gzip framing, padding, HMAC, Base64.

    loaded_by_import_pushover  1 if import pushover loaded pushover.e2e (it must not)
    import      import pushover.e2e (after import pushover)
    key         Pushover(..., encryption_key=...) beyond Pushover(...)
    ascii       form() of a 1,024-character ASCII message, with a key minus without
    wide        the same with 1,024 four-byte characters (4,096 bytes of UTF-8)
    all_ascii   every encryptable field at its limit, ASCII
    all_wide    every encryptable field at its limit, four-byte characters
    send_wide   send() of the wide message (form and body streamed), with a key minus without
"""

import gc
import sys

gc.disable()


class Cipher:
    def __init__(self, key, mode, iv):
        if mode != 2 or len(key) != 32 or len(iv) != 16:
            raise ValueError("aes")
        self.ctx = bytearray(288)  # the C object's size, from the firmware's heap too

    def encrypt(self, in_buf, out_buf):
        return out_buf


class cryptolib:  # noqa: N801
    aes = Cipher


sys.modules["cryptolib"] = cryptolib

from pushover import Pushover  # noqa: E402

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
WIDE = "\U0001f600"


class Counting:
    def request(self, method, url, form=None, timeout=None, secrets=()):
        n = 0
        for chunk in form.chunks():
            n += len(chunk)
        return 200, {}, b'{"status":1,"request":"r"}'


def cost(call, *args, **kwargs):
    before = gc.mem_alloc()
    call(*args, **kwargs)
    return gc.mem_alloc() - before


def main():
    print("loaded_by_import_pushover=%d" % ("pushover.e2e" in sys.modules))
    before = gc.mem_alloc()
    import pushover.e2e  # noqa: F401

    print("import=%d" % (gc.mem_alloc() - before))
    plain = Pushover(TOKEN, USER, transport=Counting())
    sealed = Pushover(TOKEN, USER, transport=Counting(), encryption_key=KEY)
    for po in (plain, sealed):  # first calls intern names; count from the second on
        po.send("warm up", title="t", url="u", url_title="v")
    transport = Counting()
    print("key=%d" % (cost(Pushover, TOKEN, USER, transport=transport, encryption_key=KEY)
                      - cost(Pushover, TOKEN, USER, transport=transport)))
    ascii_msg = "x" * 1024
    wide_msg = WIDE * 1024
    for name, msg, char in (("ascii", ascii_msg, "y"), ("wide", wide_msg, WIDE)):
        print("%s=%d" % (name, cost(sealed.form, msg) - cost(plain.form, msg)))
        fields = {"title": char * 250, "url": char * 512, "url_title": char * 100}
        print("all_%s=%d" % (name, cost(sealed.form, msg, **fields)
                             - cost(plain.form, msg, **fields)))
    print("send_wide=%d" % (cost(sealed.send, wide_msg) - cost(plain.send, wide_msg)))


main()
