"""Guest script (MicroPython): send one message whose attachment is the file /tmp/att.bin
through a transport that only counts bytes, and print what the send allocated.

    send_memory.py SIZE BUFSIZE [stream|naive|buffer|base64]

The collector is off for the whole run (the WASI build's collector is not reliable, see
tools/mpyrun.py), so gc.mem_alloc() counts every byte allocated, freed or not: a heap of H
bytes passes only if imports plus the send allocate less than H in total. "naive" builds the
whole body in RAM first, as most clients do, for comparison. "buffer" sends a bytearray of SIZE
bytes allocated before the count starts (a camera frame buffer); "base64" sends the file as
attachment_base64.
"""

import gc
import sys

gc.disable()

# the attachment path, which the first send with an attachment loads, is imported here with
# the rest, so that "alloc" below is what a send allocates
import pushover.attach  # noqa: E402,F401
from pushover import Pushover  # noqa: E402

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
PATH = "/tmp/att.bin"


class Counting:
    def __init__(self):
        self.length = 0
        self.chunks = 0

    def request(self, method, url, form=None, timeout=None, secrets=()):
        length = 0
        chunks = 0
        for chunk in form.chunks():
            length += len(chunk)
            chunks += 1
        self.length = length
        self.chunks = chunks
        return 200, {}, b'{"status":1,"request":"r"}'


class Naive(Counting):
    """The body built whole in RAM, then sent: the attachment read into a bytes object, and
    the body assembled by concatenation."""

    def request(self, method, url, form=None, timeout=None, secrets=()):
        with open(PATH, "rb") as f:
            data = f.read()
        def part(name, after=b""):
            return form._open + name.encode() + b'"' + after + b"\r\n\r\n"

        head = part("attachment", form._after)
        for name, value in reversed(form.pairs):
            head = part(name) + value.encode() + b"\r\n" + head
        body = head + data + ("\r\n--" + form.boundary + "--\r\n").encode()
        self.length = len(body)
        self.chunks = 1
        return 200, {}, b'{"status":1,"request":"r"}'


def main():
    size = int(sys.argv[1])
    bufsize = int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "stream"
    transport = Naive() if mode == "naive" else Counting()
    fields = {"attachment": PATH}
    if mode == "buffer":
        fields["attachment"] = bytearray(size)
    elif mode == "base64":
        fields = {"attachment_base64": PATH}
    # counted from before the Pushover is made: it makes the body buffer the send uses
    before = gc.mem_alloc()
    po = Pushover(TOKEN, USER, transport=transport, bufsize=bufsize)
    result = po.send("Motion at the door", title="camera", attachment_type="image/jpeg",
                     **fields)
    after = gc.mem_alloc()
    if result.request != "r":
        raise SystemExit("bad result")
    print("size=%d length=%d chunks=%d alloc=%d total=%d" % (
        size, transport.length, transport.chunks, after - before, after))


main()
