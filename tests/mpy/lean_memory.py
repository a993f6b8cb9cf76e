"""Guest script (MicroPython): what `import pushover` and one send cost, next to a bare
streaming sender, both through the stand-in of the firmware's requests (tools/firmware) over a
socket that takes every byte and answers 200.

    lean_memory.py MODE COLLECTOR [ATTACHMENT]
    MODE: import | text | attach | again | bare-text | bare-attach | survive-*
                                                                     COLLECTOR: on | off

`import` prints `keeps` (bytes still held after gc.collect(), run at the top level only: the
WASI build's collector is not trusted mid-call). The others print `ok`, `import` (bytes the
import allocated) and `send` (bytes the send allocated), both counted with the collector off;
run with the collector on, a run that ends with ok=1 (exit 0) shows that the heap it was
given suffices. `again` sends the attachment twice and counts the second send only: the
steady state of a board that sends photos, with the attachment path already loaded.
The attachment is the file ATTACHMENT (default /tmp/att.bin). `survive-*` (through requests, the
socket transport or pushover.aio, a text message or the attachment): see survive_heap.py.

The socket is a fake `socket` module put in sys.modules before `requests` is imported, as
micropython-lib's own tests of requests do: so the same script runs under the WASI build with
the stand-in of requests, and on a real port (the unix port) with micropython-lib's requests.
"""

# binascii and json are the firmware's, loaded before anything is measured: where a port has
# them in Python rather than in C (tools/nativecore), their import is not the library's cost
import binascii  # noqa: F401
import gc
import json  # noqa: F401
import sys

MODE = sys.argv[1]
PATH = sys.argv[3] if len(sys.argv) > 3 else "/tmp/att.bin"
if sys.argv[2] == "off":
    gc.disable()
OK = b'HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n{"status":1,"request":"req-1"}'
TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
URL = "http://api.pushover.net/1/messages.json"


class Sink:
    """A socket that takes every byte and replies OK: read, readline, write, close."""

    def __init__(self):
        self.pos = 0

    def connect(self, addr):
        pass

    def settimeout(self, t):
        pass

    def write(self, data):
        return len(data)

    def readline(self):
        end = OK.find(b"\n", self.pos) + 1
        out = OK[self.pos:end]
        self.pos = end
        return out

    def read(self, n=-1):
        out = OK[self.pos:] if n < 0 else OK[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def close(self):
        pass


class Net:
    """The `socket` module requests imports: getaddrinfo() and socket() only."""

    AF_INET = 2
    SOCK_STREAM = 1
    IPPROTO_TCP = 6

    def getaddrinfo(self, host, port, af=0, kind=0):
        return [(2, 1, 0, "", (host, port))]

    def socket(self, af=2, kind=1, proto=0):
        return Sink()


def bare_body(path, head, tail, buf):
    """The bare sender's body: the head, the file through one buffer, the tail."""
    yield head
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            yield buf if n == len(buf) else memoryview(buf)[:n]
    yield tail


def bare(attach):
    """A plain streaming sender: requests, a generator body and an exact Content-Length."""
    import os

    import requests

    if not attach:
        data = ("token=" + TOKEN + "&user=" + USER + "&message=Door+open").encode()
        r = requests.post(URL, data=data,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        b = "b0123456789"
        part = "--" + b + '\r\nContent-Disposition: form-data; name="'
        head = (part + 'token"\r\n\r\n' + TOKEN + "\r\n" + part + 'user"\r\n\r\n' + USER
                + "\r\n" + part + 'message"\r\n\r\nMotion\r\n' + part
                + 'attachment"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n').encode()
        tail = ("\r\n--" + b + "--\r\n").encode()
        size = len(head) + os.stat(PATH)[6] + len(tail)
        r = requests.post(URL, data=bare_body(PATH, head, tail, bytearray(1024)),
                          headers={"Content-Type": "multipart/form-data; boundary=" + b,
                                   "Content-Length": str(size)})
    ok = r.json()["status"] == 1
    r.close()
    return ok


def main():
    sys.modules["socket"] = Net()  # what requests connects with
    import requests  # noqa: F401

    start = gc.mem_alloc()
    if MODE.startswith("bare"):
        before = start
        ok = bare(MODE == "bare-attach")
    else:
        import pushover

        before = gc.mem_alloc()
        po = pushover.Pushover(TOKEN, USER, api_url="http://api.pushover.net/1")
        if MODE == "text":
            ok = po.send("Door open").request == "req-1"
        else:
            if MODE == "again":
                po.send("Motion", attachment=PATH, attachment_type="image/jpeg")
                before = gc.mem_alloc()
            ok = po.send("Motion", attachment=PATH,
                         attachment_type="image/jpeg").request == "req-1"
    end = gc.mem_alloc()
    print("ok=%d import=%d send=%d" % (ok, before - start, end - before))
    if not ok:
        raise SystemExit(1)  # a smallest-heap search counts only a right answer


if MODE.startswith("survive"):
    import survive_heap  # noqa: F401 (its own module: its code is in no other mode's heap)
elif MODE == "import":
    # in a fresh interpreter, as an application's first import; at the top level, where the
    # WASI build's collector can be trusted (inside a call it was seen to free live objects)
    gc.collect()
    start = gc.mem_alloc()
    import pushover  # noqa: F401

    gc.collect()
    print("keeps=%d" % (gc.mem_alloc() - start))
else:
    main()
