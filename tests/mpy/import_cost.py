"""Guest script: bytes allocated by importing each module (collector off), and which modules a
plain text send loads."""

import gc
import sys

gc.disable()
start = gc.mem_alloc()
import pushover  # noqa: E402

base = gc.mem_alloc() - start
print("pushover", base)


class Sink:
    def request(self, method, url, form=None, timeout=None, secrets=()):
        for _ in form.chunks():
            pass
        return 200, {}, b'{"status":1,"request":"r"}'


pushover.Pushover("aToken0123456789abcdefghijKLMN", "uUser0123456789abcdefghijKLMNO",
                  transport=Sink()).send("text only")
print("loaded", " ".join(sorted(m for m in sys.modules if m.startswith("pushover"))))
for name in ("receipts", "glances", "account", "retry", "queue", "storm", "sock", "aio"):
    before = gc.mem_alloc()
    __import__("pushover." + name)
    print(name, gc.mem_alloc() - before)
