"""Fakes shared by the portable tests (CPython and MicroPython alike): a transport that
consumes a body the way the firmware's urequests does and replays a scripted reply."""

import hashlib


def raises(cls, func, *args, **kwargs):
    """The exception of class `cls` that func(*args, **kwargs) raises; AssertionError if none."""
    try:
        func(*args, **kwargs)
    except cls as e:
        return e
    raise AssertionError("expected " + cls.__name__)


class Reply:
    def __init__(self, status=200, body=b'{"status":1,"request":"req-1"}', headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class FakeTransport:
    """Records what was sent (length, SHA-256, chunk count) without keeping the body."""

    def __init__(self, reply=None, keep=False, on_chunk=None):
        self.reply = reply or Reply()
        self.keep = keep
        self.on_chunk = on_chunk
        self.calls = []

    def request(self, method, url, form=None, timeout=None, secrets=()):
        digest = hashlib.sha256()
        length = 0
        chunks = 0
        kept = []
        if form is not None:
            for chunk in form.chunks():
                digest.update(chunk)
                length += len(chunk)
                chunks += 1
                if self.keep:
                    kept.append(bytes(chunk))
                if self.on_chunk:
                    self.on_chunk(chunks)
        self.calls.append({"method": method, "url": url, "length": length, "chunks": chunks,
                           "sha256": digest.digest(), "body": b"".join(kept),
                           "declared": form.length if form else 0})
        r = self.reply
        return r.status, r.headers, r.body


def tmpdir():
    """A writable folder: /tmp under MicroPython (mapped by the runner), a fresh one on CPython."""
    import sys

    if sys.implementation.name == "micropython":
        return "/tmp"
    import tempfile

    return tempfile.mkdtemp()


def remove(path):
    import os

    try:
        os.remove(path)
    except OSError:
        pass


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


class ScriptedPo:
    """Stands in for Pushover in queue tests: send() fails or succeeds as scripted."""

    def __init__(self, outcomes=()):
        self.outcomes = list(outcomes)
        self.sent = []

    def check(self, message, **fields):
        return None

    def send(self, message, **fields):
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(message)


class FakeSocket:
    """A MicroPython socket's surface (connect, settimeout, write, read, readinto, readline,
    close) over a scripted reply. What is written is parsed into the request head and a
    digest of the body; `fail_after` body writes, it raises OSError(ECONNRESET)."""

    def __init__(self, net):
        self.net = net
        self.closed = False
        self.head = b""
        self.headers = {}
        self.in_body = False
        self.digest = hashlib.sha256()
        self.length = 0
        self.writes = 0
        self.pos = 0

    def connect(self, addr):
        if self.net.refuse:
            raise OSError(111)  # ECONNREFUSED

    def settimeout(self, t):
        pass

    def write(self, data):
        if self.closed:
            raise OSError(9)  # EBADF
        data = bytes(data) if not isinstance(data, str) else data.encode()
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end >= 0:
                for line in self.head[:end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b": ")
                    self.headers[name.decode()] = value.decode()
                self.in_body = True
                rest = self.head[end + 4:]
                self.head = self.head[:end + 4]
                if rest:
                    self._body(rest)
            return len(data)
        self._body(data)
        return len(data)

    def _body(self, data):
        if self.net.fail_after is not None and self.writes >= self.net.fail_after:
            raise OSError(104)  # ECONNRESET
        self.digest.update(data)
        self.length += len(data)
        self.writes += 1

    def read(self, n=-1):
        reply = self.net.reply
        end = len(reply) if n is None or n < 0 else self.pos + n
        out = reply[self.pos:end]
        self.pos += len(out)
        return out

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readline(self):
        reply = self.net.reply
        end = reply.find(b"\n", self.pos)
        end = len(reply) if end < 0 else end + 1
        out = reply[self.pos:end]
        self.pos = end
        return out

    def close(self):
        self.closed = True


class FakeNet:
    """Stands in for the `socket` module where there are none (MicroPython on the host): every
    connection gets the scripted `reply` (the whole reply, from the status line)."""

    SOCK_STREAM = 1

    def __init__(self, reply=b"HTTP/1.0 200 OK\r\nContent-Length: 30\r\n\r\n"
                             b'{"status":1,"request":"req-1"}', fail_after=None, refuse=False):
        self.reply = reply
        self.fail_after = fail_after
        self.refuse = refuse
        self.sockets = []

    def getaddrinfo(self, host, port, af=0, kind=0):
        return [(2, 1, 0, "", (host, port))]

    def socket(self, af=2, kind=1, proto=0):
        s = FakeSocket(self)
        self.sockets.append(s)
        return s

    def all_closed(self):
        return all(s.closed for s in self.sockets)


class FakeTls:
    """Stands in for MicroPython's `tls` module over FakeSocket (no encryption): the context
    API the library and requests use, and a certificate refusal as the real one raises it, a
    ValueError with mbedTLS's text, at wrap_socket or, with do_handshake_on_connect=False, at
    the first write."""

    PROTOCOL_TLS_CLIENT = 0
    CERT_NONE = 0
    CERT_REQUIRED = 2

    def __init__(self, refuse=None):
        self.refuse = refuse  # None, or the mbedTLS text of the refusal
        self.wrapped = []
        self.contexts = []  # every SSLContext made, for tests of how it was set up

    def SSLContext(self, protocol):  # noqa: N802 (the firmware's name)
        ctx = _FakeContext(self, protocol)
        self.contexts.append(ctx)
        return ctx


class _FakeContext:
    def __init__(self, tls, protocol):
        self.tls = tls
        self.protocol = protocol
        self.verify_mode = tls.CERT_REQUIRED
        self.cadata = None

    def load_verify_locations(self, cadata):
        self.cadata = cadata

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    server_hostname=None):
        refuse = self.tls.refuse if self.verify_mode == self.tls.CERT_REQUIRED else None
        self.tls.wrapped.append((server_hostname, self.verify_mode))
        if refuse and do_handshake_on_connect:
            raise ValueError(refuse)
        return _FakeTlsSocket(sock, refuse)


class _FakeTlsSocket:
    """read, readinto, readline, write, setblocking, close: what MicroPython's has."""

    def __init__(self, sock, refuse):
        self.sock = sock
        self.refuse = refuse

    def write(self, data):
        if self.refuse:
            raise ValueError(self.refuse)
        return self.sock.write(data)

    def read(self, n=-1):
        return self.sock.read(n)

    def readinto(self, buf):
        return self.sock.readinto(buf)

    def readline(self):
        return self.sock.readline()

    def setblocking(self, flag):
        pass

    def close(self):
        self.sock.close()
