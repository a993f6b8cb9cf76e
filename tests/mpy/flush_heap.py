"""Guest script (MicroPython): flush a queue of 20 messages through SocketTransport over fake
sockets, once on one kept-alive connection and once with one connection per message, and
print the bytes each flush allocated and the connections it opened.

    flush_heap.py keepalive|close

The collector is off (see tools/mpyrun.py), so gc.mem_alloc() counts every byte allocated.
The fake socket answers each request as Pushover does; TLS is not part of this (the WASI
build has none): on a board each connection also costs a TLS handshake.
"""

import gc
import sys

gc.disable()

from pushover import Pushover  # noqa: E402
from pushover.queue import Queue  # noqa: E402
from pushover.sock import SocketTransport  # noqa: E402

MODE = sys.argv[1]
TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
BODY = b'{"status":1,"request":"5d1e0a6c-2a44-4bbe-9e0e-3c6b5c3a6f01"}'


class FakeSock:
    """A connected socket: swallows the request, then serves one reply per request."""

    def __init__(self, keep):
        self.keep = keep
        self.reply = b""
        self.pos = 0
        self.length = 0

    def write(self, data):
        self.length += len(data)
        if not self.reply:
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Limit-App-Limit: " \
                   "10000\r\nX-Limit-App-Remaining: 9999\r\nX-Limit-App-Reset: 1893456000\r\n"
            head += "Content-Length: %d\r\n" % len(BODY)
            head += "Connection: keep-alive\r\n\r\n" if self.keep else "Connection: close\r\n\r\n"
            self.reply = head.encode() + BODY
            self.pos = 0
        return len(data)

    def readline(self):
        end = self.reply.find(b"\n", self.pos) + 1 or len(self.reply)
        line = self.reply[self.pos:end]
        self.pos = end
        return line

    def read(self, n):
        data = self.reply[self.pos:self.pos + n]
        self.pos += len(data)
        if self.pos >= len(self.reply):
            self.reply = b""
        return data

    def close(self):
        pass


keep = MODE == "keepalive"
opened = []


def connect(host, port, timeout):
    s = FakeSock(keep)
    opened.append(s)
    return s


transport = SocketTransport(keepalive=keep, connect=connect)
po = Pushover(TOKEN, USER, api_url="http://api.example/1", transport=transport)
q = Queue("/tmp/flush.q")
for i in range(20):
    q.put("reading %d" % i, title="cellar")
before = gc.mem_alloc()
sent, aside, left, error = q.flush(po)
alloc = gc.mem_alloc() - before
assert (sent, aside, left, error) == (20, 0, 0, None), (sent, aside, left, error)
print("mode=%s sent=%d connections=%d alloc=%d" % (MODE, sent, transport.connections, alloc))
