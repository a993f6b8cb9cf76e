"""Guest script (MicroPython), run by lean_memory.py in its `survive-text`, `survive-attach`,
`survive-sock-*` and `survive-aio-*` modes (through pushover.sock.SocketTransport, or
pushover.aio.send() over stand-ins of asyncio's streams, instead of requests): one send on
whatever heap it is given, and how it went. It prints
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


class Streams:
    """What pushover.aio asks of asyncio, over the same fake socket: open_connection() to a
    reader (read) and a writer (write, drain, close), create_task() for the watchdog, which
    never fires here (its coroutine is closed), current_task(), sleep()."""

    class CancelledError(BaseException):
        pass

    class Task:
        def cancel(self):
            return True

    def create_task(self, coro):
        coro.close()
        return self.Task()

    def current_task(self):
        return self.Task()

    async def sleep(self, seconds):
        pass

    async def open_connection(self, host, port, ssl=None, server_hostname=None):
        sock = Watched()
        return Reader(sock), Writer(sock)


class Reader:
    def __init__(self, sock):
        self.sock = sock

    async def read(self, n):
        if not READ[0]:
            self.sock.readline()  # as requests reads the status line: marks the reply read
            self.sock.pos = 0
        return self.sock.read(n)


class Writer:
    def __init__(self, sock):
        self.sock = sock

    def write(self, data):
        self.sock.write(data)

    async def drain(self):
        pass

    def close(self):
        pass


class Clock:
    """The board's time module, for pushover.compat, where the core has none: the class
    itself goes into sys.modules (MicroPython will not `from x import` a bound method)."""

    @staticmethod
    def time():
        return 1767225600

    @staticmethod
    def gmtime(t=0):
        return (1970, 1, 1, 0, 0, 0, 3, 1)

    @staticmethod
    def ticks_ms():
        return 0

    @staticmethod
    def ticks_diff(a, b):
        return a - b

    @staticmethod
    def sleep_ms(ms):
        pass


def run(coro):
    """A coroutine to its end, without a loop: nothing in it waits on anything."""
    try:
        while True:
            coro.send(None)
    except StopIteration as done:
        return done.value


sys.modules["socket"] = WatchedNet()
import requests  # noqa: E402,F401 (after the fake socket module is in place)

if "-aio-" in MODE:
    if "time" not in sys.modules:
        try:
            import time  # noqa: F401
        except ImportError:
            sys.modules["time"] = Clock
    sys.modules["asyncio"] = Streams()

import pushover  # noqa: E402

transport = None
if "-sock-" in MODE:
    from pushover.sock import SocketTransport

    transport = SocketTransport()
if "-aio-" in MODE:
    from pushover import aio
po = pushover.Pushover(TOKEN, USER, api_url="http://api.pushover.net/1", transport=transport)
fields = {} if MODE.endswith("-text") else {"attachment": PATH, "attachment_type": "image/jpeg"}
message = "Door open" if MODE.endswith("-text") else "Motion"
# the coroutine object is the caller's to make (as is the call of send() itself): made before
# `sending`, it is not counted as the library's
coro = aio.send(po, message, verify=False, **fields) if "-aio-" in MODE else None
got = None


def attempt():
    """(outcome, unknown): in a function, so that nothing it keeps takes a heap block (a
    module's names live in its dict, which grows)."""
    try:
        if coro is not None:
            run(coro)
        else:
            po.send(message, **fields)
        return 0, 0
    except pushover.PushoverError as e:
        return 1, isinstance(e, pushover.UnknownOutcomeError)
    except MemoryError:
        return 3, 0


def give_back():
    n = 0
    while n < len(HOG):  # a loop over an int: nothing allocated while the heap is full
        HOG[n] = None
        n += 1
    gc.collect()


print("sending")
got = attempt()
give_back()
print("outcome=%d unknown=%d read=%d" % (got[0], got[1], READ[0]))
