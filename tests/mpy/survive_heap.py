"""Guest script (MicroPython), run by lean_memory.py in its `survive-text`, `survive-attach`,
`survive-sock-text` and `survive-sock-attach` modes (the `sock` ones through
pushover.sock.SocketTransport instead of requests): one send on whatever heap it is given,
and how it went. It prints
`sending` once the import and Pushover() fit (before that the heap is too small for any send;
such a run may end anywhere), then `outcome=N unknown=U read=R`: N is 0 sent, 1 a
PushoverError, 3 a MemoryError escaped the send; U is 1 for an UnknownOutcomeError; R is 1
once the reply was being read, that is once the whole request had gone out.

tools/bench_lean.py runs this on every heap from the bare sender's smallest to past the
library's, and with LEFT from 0 to 4 KB on a heap the send fits, and fails on a 3, on no outcome after `sending`, and on an error that says the
wrong thing about delivery: on a board a send that runs out of heap is a PushoverError, an
UnknownOutcomeError exactly when the whole request went out (it may have been delivered)."""

import gc
import sys

from lean_memory import MODE, PATH, TOKEN, USER, Net, Sink

READ = [0]
# with a 5th argument LEFT: when the reply starts to be read, take all of the heap but about
# LEFT bytes (and hold it to the end), so that the send runs out after the whole request went
# out, at a point that moves with LEFT
LEFT = int(sys.argv[4]) if len(sys.argv) > 4 else None
HOG = [None] * 200  # made before the heap is filled: growing it would leave garbage


def take_all_but(left):
    """Fill the free heap, the largest holes first, until about `left` bytes are free."""
    gc.collect()
    size, n = 4096, 0
    while size >= 16 and n < len(HOG) and gc.mem_free() > left + 32:
        try:
            HOG[n] = bytearray(min(size, max(gc.mem_free() - left - 32, 1)))
            n += 1
        except MemoryError:
            size //= 2


class Watched(Sink):
    def readline(self):
        if not READ[0] and LEFT is not None:
            take_all_but(LEFT)
        READ[0] = 1
        return super().readline()


class WatchedNet(Net):
    def socket(self, af=2, kind=1, proto=0):
        return Watched()


sys.modules["socket"] = WatchedNet()
import requests  # noqa: E402,F401 (after the fake socket module is in place)

import pushover  # noqa: E402

transport = None
if "-sock-" in MODE:
    from pushover.sock import SocketTransport

    transport = SocketTransport()
po = pushover.Pushover(TOKEN, USER, api_url="http://api.pushover.net/1", transport=transport)
print("sending")
try:
    if MODE.endswith("-text"):
        po.send("Door open")
    else:
        po.send("Motion", attachment=PATH, attachment_type="image/jpeg")
    print("outcome=0 unknown=0 read=%d" % READ[0])
except pushover.PushoverError as e:
    print("outcome=1 unknown=%d read=%d" % (isinstance(e, pushover.UnknownOutcomeError),
                                            READ[0]))
except MemoryError:
    print("outcome=3 unknown=0 read=%d" % READ[0])
