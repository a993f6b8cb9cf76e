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
