"""Guest script (MicroPython): one aio.send() of the file /tmp/att.bin over a stream that only
counts bytes, and what the send allocated (collector off, so every byte counts).

    aio_memory.py SIZE BUFSIZE [free|generator]

The WASI build has no asyncio, so a minimal one stands in (nothing suspends; the watchdog
is made but never run). "free": drain() returns one finished generator, so it allocates
nothing and the figure is the library's own. "generator": drain() is an `async def`, as
asyncio's is, so each call makes a generator object: the least asyncio's drain allocates
(the real one adds a poll-queue entry when the socket did not take everything).
"""

import gc
import sys

gc.disable()

from pushover import Pushover, aio  # noqa: E402

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
REPLY = b'HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\n{"status":1,"request":"r"}'


def _finished():
    return
    yield


DONE = _finished()
for _ in DONE:
    pass


class Stream:
    def __init__(self, mode):
        self.length = 0
        self.chunks = 0
        self.reply = REPLY
        if mode == "generator":
            self.drain = self._drain_generator

    def write(self, data):
        self.length += len(data)
        self.chunks += 1

    def drain(self):
        return DONE

    async def _drain_generator(self):
        pass

    async def read(self, n):
        data = self.reply
        self.reply = b""
        return data

    def close(self):
        pass


class Task:
    def cancel(self):
        return False


class FakeAsyncio:
    CancelledError = BaseException

    def __init__(self, stream):
        self.stream = stream

    def current_task(self):
        return Task()

    def create_task(self, coro):
        return Task()

    def sleep(self, seconds):
        return DONE  # as MicroPython's: sleep(0) hands back one reused generator

    async def open_connection(self, host, port, ssl=None, server_hostname=None):
        return self.stream, self.stream


def main():
    size = int(sys.argv[1])
    bufsize = int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "free"
    stream = Stream(mode)
    sys.modules["asyncio"] = FakeAsyncio(stream)
    po = Pushover(TOKEN, USER, api_url="http://127.0.0.1:8765/1", transport=object(),
                  bufsize=bufsize)
    coro = aio.send(po, "Motion at the door", attachment="/tmp/att.bin",
                    attachment_type="image/jpeg")
    before = gc.mem_alloc()
    try:
        while True:
            coro.send(None)
    except StopIteration as done:
        result = done.value
    after = gc.mem_alloc()
    if result.request != "r":
        raise SystemExit("bad result")
    print("size=%d length=%d chunks=%d alloc=%d total=%d" % (
        size, stream.length, stream.chunks, after - before, after))


main()
