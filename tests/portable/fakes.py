"""Fakes shared by the portable tests (CPython and MicroPython alike): a transport that
consumes a body the way the firmware's urequests does and replays a scripted reply."""

import hashlib


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

    def form(self, message, **fields):
        return None

    def send(self, message, **fields):
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(message)


class _RawReply:
    """The reply stream a firmware Response exposes as `.raw`: read(n), readline(), close()."""

    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.closed = False

    def read(self, n=-1):
        end = len(self.data) if n is None or n < 0 else self.pos + n
        out = self.data[self.pos:end]
        self.pos += len(out)
        return out

    def readline(self):
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def close(self):
        self.closed = True


class FakeResponse:
    def __init__(self, status, raw):
        self.status_code = status
        self.raw = raw

    def close(self):
        self.raw.close()


class FakeUrequests:
    """Stands in for the firmware's `urequests` module where there are no sockets (MicroPython
    on the host): request() consumes a generator body as the firmware does (only with an
    exact-case "Content-Length" str header, else it would chunk-encode), then hands each raw
    header line of a scripted reply to `parse_headers` and returns a Response over the rest.

    `reply` is the whole reply as bytes, starting at the status line. `fail_after` raises
    OSError once that many body chunks went out (a dropped connection)."""

    def __init__(self, reply=b"HTTP/1.0 200 OK\r\nContent-Length: 30\r\n\r\n"
                              b'{"status":1,"request":"req-1"}', fail_after=None):
        self.reply = reply
        self.fail_after = fail_after
        self.responses = []
        self.calls = []

    def request(self, method, url, data=None, headers=None, timeout=None, parse_headers=True):
        headers = headers or {}
        digest = hashlib.sha256()
        length = chunks = 0
        if data is not None:
            declared = headers.get("Content-Length")
            if not isinstance(declared, str):
                raise AssertionError("no exact-case str Content-Length: the body would be chunked")
            for chunk in data:
                if self.fail_after is not None and chunks >= self.fail_after:
                    raise OSError(104)  # ECONNRESET
                digest.update(chunk)
                length += len(chunk)
                chunks += 1
        self.calls.append({"method": method, "url": url, "headers": headers, "length": length,
                           "chunks": chunks, "sha256": digest.digest()})
        raw = _RawReply(self.reply)
        status = int(raw.readline().split(None, 2)[1])
        while True:
            line = raw.readline()
            if not line or line == b"\r\n":
                break
            if callable(parse_headers):
                try:
                    parse_headers(line, {})
                except OSError:
                    raw.close()  # the firmware closes its socket on an OSError
                    raise
        resp = FakeResponse(status, raw)
        self.responses.append(resp)
        return resp
