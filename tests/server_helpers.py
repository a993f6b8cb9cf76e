"""Shared by the local server's own tests (tests/test_server_*.py): bounded servers, clients
built on http.client and raw sockets, and the shape checks of Pushover's replies.

The server is talked to with http.client, raw sockets and urllib only; bodies are built with
urllib.parse.urlencode, urllib3.encode_multipart_formdata or json. Every server listens on
127.0.0.1 (one CLI test binds 0.0.0.0 on port 0 for a fraction of a second and is never
contacted), stops by itself after `max_seconds`, and every test has a time bound.
"""

import hashlib
import http.client
import json
import re
import socket
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from urllib3 import encode_multipart_formdata

from api_cases import OTHER_TOKEN, TOKEN, USER, USER2, plain
from live import api_requests
from pushover_server import PushoverServer

fields = plain  # a plain message's fields, with changes


ROOT = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = ROOT / "tools" / "pushover_server.py"

# Made-up keys of the right shape (30 characters of A-Z a-z 0-9), distinctive enough to grep for.
KEYS = (TOKEN, USER, OTHER_TOKEN, USER2)
assert all(len(k) == 30 and k.isalnum() and k.isascii() for k in KEYS)

FORM = "application/x-www-form-urlencoded"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + hashlib.sha256(b"jpeg").digest() * 32
LIMIT_HEADERS = ("X-Limit-App-Limit", "X-Limit-App-Remaining", "X-Limit-App-Reset")
SERVER_SECONDS = 30  # no server outlives this
CLIENT_TIMEOUT = 5


def make_server(data_dir, **kw):
    kw.setdefault("max_seconds", SERVER_SECONDS)
    kw.setdefault("slow_seconds", 0.5)
    kw.setdefault("socket_timeout", 3)
    return PushoverServer(host="127.0.0.1", port=0, data_dir=str(data_dir), **kw)


@pytest.fixture(name="srv")
def srv_fixture(tmp_path):
    with make_server(tmp_path / "data") as s:
        yield s
        assert s.stats()["internal_errors"] == 0  # no request hit a bug in the server


@pytest.fixture(name="shared", scope="module")
def shared_fixture(tmp_path_factory):
    """One server for the many field-rule cases (they only add messages)."""
    s = make_server(tmp_path_factory.mktemp("shared"), max_seconds=120)
    s.start()
    try:
        yield s
        assert s.stats()["internal_errors"] == 0
    finally:
        s.stop()


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)


def call(srv, method, path, body=None, ctype=FORM, headers=None, timeout=CLIENT_TIMEOUT):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        h = dict(headers or {})
        if body is not None:
            if isinstance(body, str):
                body = body.encode()
            h.setdefault("Content-Type", ctype)
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        return Resp(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def send(srv, path="/1/messages.json", **over):
    return call(srv, "POST", path, urlencode(fields(**over)))


def send_multipart(srv, parts, path="/1/messages.json"):
    body, ctype = encode_multipart_formdata(parts)
    return call(srv, "POST", path, body, ctype=ctype)


def send_json(srv, data, path="/1/messages.json"):
    return call(srv, "POST", path, json.dumps(data), ctype="application/json")


def bad_keys(payload):
    return set(payload) - {"errors", "status", "request"}


def assert_error_shape(r, keys, status=400):
    assert r.status == status, r.body
    p = r.json
    assert p["status"] == 0
    assert isinstance(p["errors"], list) and p["errors"]
    assert all(isinstance(e, str) and e for e in p["errors"])
    assert bad_keys(p) == set(keys)
    assert all(p[k] == "invalid" for k in keys)
    uuid.UUID(p["request"])
    return p


def assert_ok(r):
    assert r.status == 200, r.body
    p = r.json
    assert p["status"] == 1
    uuid.UUID(p["request"])
    return p


def connect(srv, timeout=3):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


def head(method, path, headers=(), version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: 127.0.0.1"]
    lines += ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def raw_post(path, body, ctype=FORM, version="HTTP/1.1", extra=()):
    return head("POST", path, [("Content-Type", ctype), ("Content-Length", str(len(body)))]
                + list(extra), version) + body


class RawReply:
    def __init__(self, status, headers, body, chunks):
        self.status, self.headers, self.body, self.chunks = status, headers, body, chunks


def _recv_more(sock, buf):
    data = sock.recv(65536)
    if not data:
        raise EOFError("connection closed after %d bytes" % len(buf))
    buf += data


def read_reply(sock):
    """One HTTP reply from a raw socket: status, lower-case headers, body, and the chunk sizes
    when it came chunked (None otherwise). EOFError: closed before a whole reply."""
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        _recv_more(sock, buf)
    end = buf.index(b"\r\n\r\n")
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[:end + 4]
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    chunks = None
    if status == 100:
        body = b""
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks, body = [], bytearray()
        while True:
            while b"\r\n" not in buf:
                _recv_more(sock, buf)
            i = buf.index(b"\r\n")
            size = int(bytes(buf[:i]), 16)
            del buf[:i + 2]
            while len(buf) < size + 2:
                _recv_more(sock, buf)
            assert buf[size:size + 2] == b"\r\n"
            if size == 0:
                del buf[:2]
                break
            chunks.append(size)
            body += buf[:size]
            del buf[:size + 2]
        body = bytes(body)
    else:
        n = int(headers["content-length"])
        while len(buf) < n:
            _recv_more(sock, buf)
        body = bytes(buf[:n])
        del buf[:n]
    assert not buf, "bytes after the reply: %r" % bytes(buf[:80])
    return RawReply(status, headers, body, chunks)


def closed_without_reply(sock, wait=3.0):
    """True when the peer closes (FIN or reset) without sending a byte within `wait` s."""
    sock.settimeout(wait)
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return data == b""


def closed(sock, wait=2.0):
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def api_records(srv, at_least, wait=2.0):
    """The server records a request just after writing its reply: wait for it."""
    return api_requests(srv, at_least, wait)


def multipart_with(attachment, extra=()):
    return list(fields().items()) + list(extra) + ([("attachment", attachment)]
                                                   if attachment is not None else [])


def emergency(srv, tags="", token=TOKEN, **over):
    over.setdefault("retry", "30")
    over.setdefault("expire", "3600")
    r = send(srv, token=token, priority="2", tags=tags or None, **over)
    p = assert_ok(r)
    assert re.fullmatch(r"[A-Za-z0-9]{30}", p["receipt"])
    return p["receipt"]


def poll(srv, receipt, token=TOKEN):
    return call(srv, "GET", "/1/receipts/%s.json?%s" % (receipt, urlencode({"token": token})))


RECEIPT_FIELDS = {"acknowledged", "acknowledged_at", "acknowledged_by",
                  "acknowledged_by_device", "last_delivered_at", "expired", "expires_at",
                  "called_back", "called_back_at"}


def find_leak(text, keys=KEYS):
    """A 10-character piece of any key found in `text` (masking keeps only 4), or None."""
    for k in keys:
        for i in range(len(k) - 9):
            if k[i:i + 10] in text:
                return k[i:i + 10]
    return None


