"""A loopback HTTP server for transport tests: records each request exactly as it arrived
(request line, headers, body) and answers with raw reply bytes the test scripts.

It serves in a daemon thread, every socket has a timeout, and it stops when the test ends or
after `max_seconds`, whichever comes first.
"""

import json
import socket
import threading
import time


def reply(status=200, body=None, headers=(), chunked=False, close=True):
    """Raw reply bytes; `body` a dict (sent as JSON) or bytes."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    body = body or b""
    head = ["HTTP/1.1 %d X" % status, "Content-Type: application/json"]
    head += ["%s: %s" % kv for kv in headers]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        mid = len(body) // 2
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:mid], body[mid:]) if p)
        payload += b"0\r\n\r\n"
    else:
        head.append("Content-Length: %d" % len(body))
        payload = body
    head.append("Connection: close" if close else "Connection: keep-alive")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


OK = {"status": 1, "request": "0f8d1c2a-aaaa-bbbb-cccc-1234567890ab"}


class ScriptedServer:
    def __init__(self, max_seconds=30, ssl_context=None):
        self.sock = socket.socket()
        # a fixed 64 KB receive buffer, inherited by accepted sockets: with the client's send
        # buffer at most 4 MB, a 5 MB body cannot be taken whole by the kernels before a
        # scripted hang-up
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.ssl_context = ssl_context
        self.url = "%s://127.0.0.1:%d" % ("https" if ssl_context else "http", self.port)
        self.replies = []  # raw bytes, or a callable(conn) for misbehaviour
        self.default = reply(200, OK)
        self.requests = []
        self.connections = 0
        self.keepalive = False  # serve further scripted replies on the same connection
        self.deadline = time.monotonic() + max_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set() and time.monotonic() < self.deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with conn:
                conn.settimeout(5)
                try:
                    if self.ssl_context:
                        conn = self.ssl_context.wrap_socket(conn, server_side=True)
                    self._handle(conn)
                    while self.keepalive and self.replies:
                        self._handle(conn)
                except OSError:
                    pass
        self.sock.close()

    def _handle(self, conn):
        f = conn.makefile("rb")
        line = f.readline()
        headers = {}
        while True:
            h = f.readline()
            if h in (b"\r\n", b""):
                break
            k, _, v = h.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        action = self.replies.pop(0) if self.replies else self.default
        if callable(action):
            return action(conn, f, line, headers, self)
        body = f.read(int(headers.get("content-length", 0)))
        self.requests.append({"line": line, "headers": headers, "body": body})
        conn.sendall(action)
        f.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
