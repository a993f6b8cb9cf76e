"""A local, Pushover-compatible HTTP server for development and tests (host only).

It speaks the API of SPEC.md sections 1, 2 and 4 under `/1/`, checks every field rule of
section 1, keeps the messages it accepts in a data folder (one JSON file per message, the
attachment next to it, application tokens and user keys masked), shows them at `/` (an HTML
inbox) and `/inbox.json`, and can misbehave on request ("fault modes") so a client's handling of
dropped connections, 5xx, 429, slow, chunked, keep-alive, invalid and oversized replies can be
tested.

Python:

    from pushover_server import PushoverServer
    with PushoverServer(port=0, data_dir=tmp) as srv:
        ...  # srv.api_url, srv.messages(), srv.set_fault("500"), srv.acknowledge(receipt)

A person acknowledges an emergency (priority 2) alert as a phone would: with the Acknowledge
button next to it in the inbox, or with the receipt the send returned (`result.receipt`):
`POST /_control/ack/<receipt>`, an optional JSON body `{"user": .., "device": ..}`; e.g.
`curl -X POST http://127.0.0.1:8765/_control/ack/<receipt>`.

Command line:

    python tools/pushover_server.py [--host 127.0.0.1] [--port 8765] [--data DIR] [--token T ...]
        [--user U ...] [--quota N] [--fault MODE [--fault-count N]] [--max-seconds N]
        [--slow-seconds S] [--verbose]

Fault modes (`fault=`, `--fault`, `set_fault()`, `POST /_control/fault {"mode":..,"count":..}`,
or for a single request the path prefix `/fault/<mode>/1/...`); they apply to API requests under
`/1/` only:

    drop_mid_body  read part of the request body (half, at most 64 KiB), then close the
                   connection without a reply
    500            read the body, reply 500 (an HTML body, as a front end would); nothing stored
    503            read the body, reply 503 (JSON, Retry-After: 5); nothing stored
    429            read the body, reply 429 quota exceeded (X-Limit-App-Remaining: 0); nothing stored
    slow           handle the request (the message IS stored), then wait `slow_seconds` (default
                   10 s, cut short when the server stops) before replying
    chunked        handle the request, reply with Transfer-Encoding: chunked (several chunks)
    keepalive      handle the request, reply with Content-Length and Connection: keep-alive and
                   keep the connection open even if the client asked to close it (HTTP/1.0 or
                   Connection: close)
    invalid_json   handle the request (stored), reply 200 with a text/html, non-JSON body
    oversized      handle the request (stored), reply 200 with a 1 MiB (1,048,576 byte) JSON body
    no_reply       read the whole body, then close without answering; nothing stored

Deliberate choices where SPEC.md leaves room (documented here once):

* Receipts: a cancelled receipt reports `expired: 1` plus the extra fields `canceled: 1` and
  `canceled_at`. `last_delivered_at` simulates a re-alert every `retry` seconds (at most 50) until
  acknowledgement, cancellation or expiry. No callback is ever requested: when a receipt with a
  `callback` is acknowledged, `called_back`/`called_back_at` are set as if it had been. A receipt
  is only visible to the application token that created it (kept as a hash, never in full).
* `acknowledged_by` is the full user key while the server runs, masked after a restart.
* Quota: counted in memory from `quota` at each start, reset at the start of each UTC month. A
  message is validated first (400 wins over 429).
* Body size: a multipart body (or one of another type) larger than 5,242,880 + 64 KiB bytes is
  refused with 413 before it is read. A form or JSON body may be larger (3 x the Base64 size of a
  5,242,880-byte image + 64 KiB) so that `attachment_base64` can be checked at its own limit.
* Extra checks that SPEC.md implies but does not spell out: `expire` must be positive; `html` and
  `monospace` must be 0 or 1; an attachment may not be empty; an `attachment` field outside a
  multipart body is refused; Base64 may contain line breaks but no spaces (a `+` sent unencoded in
  a form body arrives as a space, and the error says so); field values must be valid UTF-8.
* An empty optional field counts as absent (`title=` is like no title).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import hashlib
import html
import ipaddress
import json
import os
import re
import secrets
import socket
import string
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes, urlsplit

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

__all__ = ["PushoverServer", "FAULT_MODES", "SOUNDS", "MAX_ATTACHMENT", "MAX_BODY", "mask", "main"]

MAX_ATTACHMENT = 5_242_880
SLACK = 64 * 1024
MAX_BODY = MAX_ATTACHMENT + SLACK  # multipart (and unknown) bodies, by Content-Length
MAX_TEXT_BODY = 3 * 4 * ((MAX_ATTACHMENT + 2) // 3) + SLACK  # form/JSON: room for Base64
MAX_SMALL_BODY = SLACK  # every other endpoint
OVERSIZED_REPLY = 1024 * 1024

FAULT_MODES = ("drop_mid_body", "500", "503", "429", "slow", "chunked", "keepalive",
               "invalid_json", "oversized", "no_reply")

SOUNDS = {
    "pushover": "Pushover (default)", "bike": "Bike", "bugle": "Bugle",
    "cashregister": "Cash Register", "classical": "Classical", "cosmic": "Cosmic",
    "falling": "Falling", "gamelan": "Gamelan", "incoming": "Incoming",
    "intermission": "Intermission", "magic": "Magic", "mechanical": "Mechanical",
    "pianobar": "Piano Bar", "siren": "Siren", "spacealarm": "Space Alarm",
    "tugboat": "Tug Boat", "alien": "Alien Alarm (long)", "climb": "Climb (long)",
    "persistent": "Persistent (long)", "echo": "Pushover Echo (long)",
    "updown": "Up Down (long)", "vibrate": "Vibrate Only", "none": "None (silent)",
}

DEFAULT_DEVICES = ("phone", "tablet", "watch")
LICENSES = ["Android", "iOS", "Desktop"]
RECEIPT_LIFETIME = 7 * 24 * 3600
MAX_REALERTS = 50

KEY_RE = re.compile(r"[A-Za-z0-9]{30}")
DEVICE_RE = re.compile(r"[A-Za-z0-9_-]{1,25}")
INT_RE = re.compile(r"-?[0-9]{1,18}")
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,120}")
RECORD_NAME = re.compile(r"[0-9]{6,}-[0-9a-f]{8}\.json")
GLANCE_NAME = re.compile(r"g[0-9]{6,}-[0-9a-f]{8}\.json")
SECRET_IN_TEXT = re.compile(r"((?:token|user)=)([^&\s\"]*)|([A-Za-z0-9]{30})")
ALNUM = string.ascii_letters + string.digits
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
              "image/webp": ".webp", "image/bmp": ".bmp", "image/heic": ".heic"}


def mask(key):
    """A key shortened for display and storage: its first 4 characters and an ellipsis.
    Comma-joined lists are masked key by key; short or odd values become just the ellipsis."""
    if not isinstance(key, str) or not key:
        return ""
    if key.endswith("…") and len(key) <= 5:
        return key  # already masked (a log line of a masked path is masked again)
    if "," in key:
        return ",".join(mask(k) for k in key.split(","))
    return key[:4] + "…" if len(key) >= 12 else "…"


def mask_text(text):
    """Masks `token=`/`user=` values and every 30-character key-like word in a log line."""
    def repl(m):
        if m.group(3):
            return mask(m.group(3))
        return m.group(1) + mask(unquote(m.group(2)))
    return SECRET_IN_TEXT.sub(repl, text)


def _token_id(token):
    return hashlib.sha256(("pushover-local:" + token).encode()).hexdigest()[:24]


def _next_month(now):
    d = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return int(datetime.datetime(year, month, 1, tzinfo=datetime.timezone.utc).timestamp())


def _write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, path)


class HttpError(Exception):
    """A reply to send instead of going on; `close` when the body was not read to its end."""

    def __init__(self, status, payload, close=False, headers=()):
        super().__init__(status)
        self.status, self.payload, self.close, self.headers = status, payload, close, list(headers)


class _Abort(Exception):
    """The connection was dropped on purpose (fault) or by the client: no reply."""


class Reply:
    def __init__(self, status, payload, headers=()):
        self.status, self.payload, self.headers = status, payload, list(headers)


class _Errors:
    """Field errors in the Pushover shape: a key per bad field, all messages in `errors`."""

    def __init__(self):
        self.keys = {}
        self.texts = []

    def add(self, fields, text):
        for f in (fields,) if isinstance(fields, str) else fields:
            self.keys[f] = "invalid"
        if text not in self.texts:
            self.texts.append(text)

    def __bool__(self):
        return bool(self.texts)

    def payload(self, request_id):
        out = dict(self.keys)
        out.update(errors=list(self.texts), status=0, request=request_id)
        return out


class _Upload:
    """An attachment streamed to a temporary file in the messages folder."""

    def __init__(self, directory, filename, content_type):
        self.path = directory / (".upload-%s.part" % secrets.token_hex(8))
        self.filename = filename
        self.content_type = content_type
        self.size = 0
        self.too_big = False
        self.sha = hashlib.sha256()
        self.fh = open(self.path, "wb")

    def write(self, data):
        self.size += len(data)
        if self.size > MAX_ATTACHMENT:
            self.too_big = True
            return
        self.fh.write(data)
        self.sha.update(data)

    def close(self):
        if self.fh:
            self.fh.close()
            self.fh = None

    def discard(self):
        self.close()
        try:
            self.path.unlink()
        except OSError:
            pass


def _check_int(errs, fields, name, text, lo=None, hi=None):
    v = fields.get(name)
    if not INT_RE.fullmatch(v or ""):
        errs.add(name, text)
        return None
    n = int(v)
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        errs.add(name, text)
        return None
    return n


def _is_image_type(ctype):
    main = (ctype or "").split(";")[0].strip().lower()
    return main.startswith("image/") and len(main) > 6


def _decode_base64(text):
    clean = text.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(clean, validate=True)
    except (binascii.Error, ValueError):
        return None


# --------------------------------------------------------------------------- the request handler

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: a reply leaves as soon as it is written
    server_version = "pushover-local/1.0"
    sys_version = ""

    def version_string(self):
        return self.server_version  # no trailing space from the empty sys_version
    # per-request state, reset in parse_request (defaults for replies sent before it)
    path = ""
    headers = None
    fault = None
    limit_headers = False
    body_done = True
    query = {}

    # ---- connection life

    def setup(self):
        self.app = self.server.app
        self.timeout = self.app.socket_timeout
        super().setup()
        self.conn_id, self.conn_requests = self.app._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.app._conn_closed(self.connection)

    def parse_request(self):
        self.conn_requests += 1
        self.fault = None
        self.limit_headers = False
        self.body_done = True
        self.query = {}
        return super().parse_request()

    def log_request(self, code="-", size="-"):
        pass  # every reply is logged (masked) by _send / _abort

    def log_message(self, format, *args):
        self.app._log("%s %s" % (self.address_string(), format % args))

    def send_error(self, code, message=None, explain=None):
        # malformed request lines and headers, unsupported methods: JSON like the rest.
        # A request line that could not be parsed leaves the version at its HTTP/0.9 default,
        # for which send_response writes no status line and no headers: answer as HTTP/1.0.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        try:
            self._send_json(code, {"status": 0, "errors": [message or "bad request"],
                                   "request": str(uuid.uuid4())}, close=code >= 400)
        except OSError:
            self.close_connection = True

    def handle_expect_100(self):
        path = self._route_path()
        self.limit_headers = path == "/1/messages.json"
        try:
            self._check_length(self._body_cap(path))
        except HttpError as e:
            self._send_json(e.status, e.payload, close=True, headers=e.headers)
            return False
        return super().handle_expect_100()

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_HEAD(self):
        self._dispatch("HEAD")

    # ---- routing

    def _route_path(self):
        path = urlsplit(self.path).path
        m = re.fullmatch(r"/fault/([^/]+)(/1/.*)", path)
        return m.group(2) if m else path

    def _dispatch(self, method):
        lengths = self.headers.get_all("Content-Length") or []
        self.body_done = "Transfer-Encoding" not in self.headers and all(
            v.strip() == "0" for v in lengths)
        split = urlsplit(self.path)
        path = split.path
        self.query = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            m = re.fullmatch(r"/fault/([^/]+)(/1/.*)", path)
            if m:
                if m.group(1) not in FAULT_MODES:
                    raise HttpError(404, {"status": 0, "errors": [
                        "unknown fault mode %r; known: %s" % (m.group(1), ", ".join(FAULT_MODES))]})
                self.fault, path = m.group(1), m.group(2)
            elif path.startswith("/1/"):
                self.fault = self.app._take_fault()
            if path.startswith("/1/"):
                self._api(method, path)
            else:
                self._site(method, path)
        except HttpError as e:
            e.payload.setdefault("request", str(uuid.uuid4()))
            self._send_json(e.status, e.payload, close=e.close or not self.body_done,
                            headers=e.headers)
            if e.close or not self.body_done:
                self._linger()
        except _Abort:
            self._drop()
        except OSError as e:  # the client went away, a timeout, a broken socket
            self.app._log("connection %d: %s: %s" % (self.conn_id, type(e).__name__, e))
            self._drop()
        except Exception as e:  # a bug here: answer 500 (marked), log it, keep serving
            self.app._log("internal error: %s: %s" % (type(e).__name__, e))
            self.app._internal_errors += 1
            try:
                self._send_json(500, {"status": 0, "errors": [
                    "local server bug: %s" % type(e).__name__], "request": str(uuid.uuid4())},
                    close=True)
            except OSError:
                self._drop()

    API_ROUTES = (
        ("POST", re.compile(r"/1/messages\.json"), "_ep_messages"),
        ("POST", re.compile(r"/1/receipts/cancel_by_tag/([^/]+)\.json"), "_ep_cancel_by_tag"),
        ("POST", re.compile(r"/1/receipts/([^/]+)/cancel\.json"), "_ep_cancel"),
        ("GET", re.compile(r"/1/receipts/([^/]+)\.json"), "_ep_receipt"),
        ("POST", re.compile(r"/1/users/validate\.json"), "_ep_validate"),
        ("GET", re.compile(r"/1/sounds\.json"), "_ep_sounds"),
        ("GET", re.compile(r"/1/apps/limits\.json"), "_ep_limits"),
        ("POST", re.compile(r"/1/glances\.json"), "_ep_glances"),
    )

    def _api(self, method, path):
        self.limit_headers = path == "/1/messages.json"
        handler = None
        allowed = []
        for verb, pattern, name in self.API_ROUTES:
            m = pattern.fullmatch(path)
            if m:
                allowed.append(verb)
                if verb == method:
                    handler, args = getattr(self, name), m.groups()
                    break
        if handler is None:
            self._discard_body(MAX_SMALL_BODY)
            if allowed:
                raise HttpError(405, {"status": 0, "errors": ["method not allowed"]},
                                headers=[("Allow", ", ".join(allowed))])
            raise HttpError(404, {"status": 0, "errors": ["not found: %s" % path]})
        fault = self.fault
        cap = self._body_cap(path)
        if fault == "drop_mid_body":
            self._read_part_then_drop(cap)
        if fault in ("500", "503", "429", "no_reply"):
            self._discard_body(cap)
            if fault == "no_reply":
                raise _Abort()
            self.limit_headers = False
            self._send_fault(fault)
            return
        reply = handler(*args)
        if fault == "slow":
            self.app._stopping.wait(self.app.slow_seconds)
            if self.app._stopping.is_set():
                raise _Abort()
        if self.limit_headers:
            reply.headers += self.app._limit_headers()
        reply.payload.setdefault("request", str(uuid.uuid4()))
        body = json.dumps(reply.payload, separators=(",", ":")).encode()
        ctype = "application/json; charset=utf-8"
        if fault == "invalid_json":
            body = b"<html><body><h1>Service temporarily unavailable</h1></body></html>\n"
            ctype = "text/html; charset=utf-8"
        elif fault == "oversized":
            body = body[:-1] + b',"padding":"'
            body += b"x" * (OVERSIZED_REPLY - len(body) - 2) + b'"}'
        self._send(reply.status, body, ctype, reply.headers, chunked=fault == "chunked",
                   keepalive=fault == "keepalive")

    def _send_fault(self, fault):
        if fault == "500":
            body = (b"<html><head><title>500 Internal Server Error</title></head><body>"
                    b"<h1>500 Internal Server Error</h1></body></html>\n")
            self._send(500, body, "text/html; charset=utf-8", [])
        elif fault == "503":
            self._send_json(503, {"status": 0, "errors": ["service temporarily unavailable"],
                                  "request": str(uuid.uuid4())}, headers=[("Retry-After", "5")])
        else:  # 429
            limit, _, reset = self.app._quota_state()
            headers = [("X-Limit-App-Limit", str(limit)), ("X-Limit-App-Remaining", "0"),
                       ("X-Limit-App-Reset", str(reset))]
            self._send_json(429, {"status": 0, "errors": ["quota exceeded"],
                                  "request": str(uuid.uuid4())}, headers=headers)

    def _site(self, method, path):
        app = self.app
        if method == "HEAD":
            method = "GET"  # the read-only pages answer HEAD too (_send leaves out the body)
        if method == "GET" and path == "/":
            body = app._inbox_html().encode()
            return self._send(200, body, "text/html; charset=utf-8", [
                ("Content-Security-Policy",
                 "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"),
                ("Cache-Control", "no-store")])
        if method == "GET" and path == "/inbox.json":
            return self._send_json(200, app.messages())
        if method == "GET" and path == "/glances.json":
            return self._send_json(200, app.glances())
        m = re.fullmatch(r"/inbox/attachments/([^/]+)", path)
        if method == "GET" and m:
            return self._send_attachment(m.group(1))
        if path == "/_control/fault":
            if method == "POST":
                data = self._read_control_json()
                try:
                    app.set_fault(data.get("mode"), data.get("count", 1))
                except (ValueError, TypeError) as e:
                    raise HttpError(400, {"status": 0, "errors": [str(e)]}) from None
            elif method != "GET":
                raise HttpError(405, {"status": 0, "errors": ["method not allowed"]})
            mode, count = app.fault_state()
            return self._send_json(200, {"status": 1, "mode": mode, "count": count})
        m = re.fullmatch(r"/_control/ack/([^/]+)", path)
        if m and method == "POST":
            data = self._read_control_json()
            try:
                state = app.acknowledge(unquote(m.group(1)), user=data.get("user"),
                                        device=data.get("device"))
            except KeyError:
                raise HttpError(404, {"status": 0, "errors": ["receipt not found"]}) from None
            except ValueError as e:
                raise HttpError(409, {"status": 0, "errors": [str(e)]}) from None
            state["status"] = 1
            return self._send_json(200, state)
        m = re.fullmatch(r"/_control/ack-message/([^/]+)", path)
        if m and method == "POST":  # the inbox's Acknowledge button (a plain HTML form)
            self._discard_body(MAX_SMALL_BODY)
            mid = unquote(m.group(1))
            try:
                app.acknowledge_message(mid)
            except KeyError:
                raise HttpError(404, {"status": 0, "errors": ["no such emergency message"]}) \
                    from None
            except ValueError as e:
                raise HttpError(409, {"status": 0, "errors": [str(e)]}) from None
            return self._send(303, b"", "text/plain", [("Location", "/#" + quote(mid))])
        self._discard_body(MAX_SMALL_BODY)
        raise HttpError(404, {"status": 0, "errors": ["not found: %s" % path]})

    def _send_attachment(self, name):
        info = self.app._attachment_file(name) if NAME_RE.fullmatch(name) else None
        if info is None:
            raise HttpError(404, {"status": 0, "errors": ["no such attachment"]})
        path, ctype = info
        try:
            data = path.read_bytes()
        except OSError:
            raise HttpError(404, {"status": 0, "errors": ["no such attachment"]}) from None
        self._send(200, data, ctype, [("X-Content-Type-Options", "nosniff"),
                                      ("Content-Security-Policy", "default-src 'none'; sandbox")])

    # ---- replies

    def _send_json(self, status, payload, close=False, headers=()):
        headers = list(headers)
        if self.limit_headers and not any(k.startswith("X-Limit") for k, _ in headers):
            headers += self.app._limit_headers()
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._send(status, body, "application/json; charset=utf-8", headers, close=close)

    def _send(self, status, body, ctype, headers, chunked=False, keepalive=False, close=False):
        length = len(body)  # a HEAD reply announces the length a GET would get
        if self.command == "HEAD":
            body = b""
        if keepalive:
            self.close_connection = False
        elif close or not self.body_done:
            self.close_connection = True
        # recorded before the reply goes out: a client that has read the reply may ask the
        # server at once what it recorded, and must find this request there
        self._record(status)
        head = ["%s %d %s" % (self.protocol_version, status,
                              self.responses.get(status, ("",))[0]),
                "Server: " + self.version_string(), "Date: " + self.date_time_string(),
                "Content-Type: " + ctype]
        head += ["%s: %s" % kv for kv in headers]
        if chunked:
            head.append("Transfer-Encoding: chunked")
        else:
            head.append("Content-Length: %d" % length)
        head.append("Connection: " + ("close" if self.close_connection else "keep-alive"))
        out = bytearray(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if chunked:
            cuts = sorted({0, min(5, len(body)), len(body) // 2, len(body)})
            for a, b in zip(cuts, cuts[1:], strict=False):
                out += b"%x\r\n%s\r\n" % (b - a, body[a:b])
            out += b"0\r\n\r\n"
        else:
            out += body
        # one write per reply: headers and body in two writes make Nagle's algorithm hold the
        # body until the client's delayed ACK (about 40 ms) on every reply after the first
        # on a kept-alive connection
        self.wfile.write(out)
        self.wfile.flush()

    def _record(self, status):
        self.app._request_done({
            "time": self.app.clock(), "connection": self.conn_id,
            "on_connection": self.conn_requests, "method": self.command,
            "path": mask_text(self.path), "version": self.request_version,
            "connection_header": (self.headers.get("Connection") or "") if self.headers else "",
            "status": status, "fault": getattr(self, "fault", None)})
        self.app._log("%s \"%s %s %s\" %s%s" % (
            self.address_string(), self.command, mask_text(self.path), self.request_version,
            status, " fault=%s" % self.fault if getattr(self, "fault", None) else ""))

    def _drop(self):
        """Closes the connection at once, without a reply."""
        self.close_connection = True
        if getattr(self, "command", None):
            self._record(None)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _linger(self):
        """After a reply sent before the whole body was read: stop writing, then read and
        discard a little (at most 1 s, 1 MiB) so the client sees the reply, not a reset."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            deadline = time.monotonic() + 1.0
            got = 0
            while got < 1 << 20 and time.monotonic() < deadline:
                data = self.connection.recv(65536)
                if not data:
                    break
                got += len(data)
        except OSError:
            pass

    # ---- request bodies

    def _body_cap(self, path):
        if path == "/1/messages.json":
            ctype = parse_options_header(self.headers.get("Content-Type", ""))[0]
            if ctype in (b"application/x-www-form-urlencoded", b"application/json", b""):
                return MAX_TEXT_BODY
            return MAX_BODY
        return MAX_SMALL_BODY

    def _check_length(self, cap):
        """The declared body length (None: chunked), refusing a too large one unread."""
        te = self.headers.get("Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if te is not None:
            if te.strip().lower() != "chunked":
                raise HttpError(501, {"status": 0, "errors": [
                    "Transfer-Encoding %r is not supported" % te]}, close=True)
            if lengths:
                raise HttpError(400, {"status": 0, "errors": [
                    "both Content-Length and Transfer-Encoding given"]}, close=True)
            return None
        if not lengths:
            if self.command in ("POST", "PUT"):
                raise HttpError(411, {"status": 0, "errors": [
                    "Content-Length is required"]}, close=True)
            return 0
        if len(set(v.strip() for v in lengths)) != 1 or not lengths[0].strip().isdigit():
            raise HttpError(400, {"status": 0, "errors": ["Content-Length is invalid"]},
                            close=True)
        length = int(lengths[0])
        if length > cap:
            raise HttpError(413, {"status": 0, "errors": [
                "request body too large (%d bytes, at most %d)" % (length, cap)]}, close=True)
        return length

    def _chunks(self, cap):
        """Yields the request body in pieces as it arrives (Content-Length or chunked)."""
        length = self._check_length(cap)
        rfile = self.rfile
        try:
            if length is not None:
                left = length
                while left:
                    data = rfile.read1(min(65536, left))
                    if not data:
                        raise HttpError(400, {"status": 0, "errors": [
                            "request body incomplete: %d of %d bytes arrived"
                            % (length - left, length)]}, close=True)
                    left -= len(data)
                    yield data
            else:
                total = 0
                while True:
                    line = rfile.readline(1026)
                    try:
                        size = int(line.split(b";")[0].strip(), 16)
                    except ValueError:
                        raise HttpError(400, {"status": 0, "errors": [
                            "bad chunk size line in a chunked body"]}, close=True) from None
                    if size == 0:
                        break
                    total += size
                    if total > cap:
                        raise HttpError(413, {"status": 0, "errors": [
                            "request body too large (more than %d bytes)" % cap]}, close=True)
                    left = size
                    while left:
                        data = rfile.read1(min(65536, left))
                        if not data:
                            raise HttpError(400, {"status": 0, "errors": [
                                "chunked request body incomplete"]}, close=True)
                        left -= len(data)
                        yield data
                    if rfile.read(2) != b"\r\n":
                        raise HttpError(400, {"status": 0, "errors": [
                            "chunk not followed by CRLF"]}, close=True)
                for _ in range(64):  # trailer fields, up to the empty line
                    line = rfile.readline(8192)
                    if line in (b"\r\n", b"\n"):
                        break
                    if not line:
                        raise HttpError(400, {"status": 0, "errors": [
                            "chunked request body incomplete"]}, close=True)
        except TimeoutError:
            raise HttpError(408, {"status": 0, "errors": [
                "timed out waiting for the request body"]}, close=True) from None
        self.body_done = True

    def _discard_body(self, cap):
        for _ in self._chunks(cap):
            pass

    def _read_all(self, cap):
        return b"".join(self._chunks(cap))

    def _read_part_then_drop(self, cap):
        length = self._check_length(cap)
        # half the body, at most 64 KiB: a large body then cannot be taken whole by the
        # kernels' socket buffers before the hang-up, so the client sees it mid-body
        want = 1 if length is None else min(max(1, length // 2), 65536) if length else 0
        got = 0
        while got < want:
            data = self.rfile.read1(min(65536, want - got))
            if not data:
                break
            got += len(data)
        raise _Abort()

    def _read_control_json(self):
        raw = self._read_all(MAX_SMALL_BODY)
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, {"status": 0, "errors": ["body is not valid JSON"]}) from None
        if not isinstance(data, dict):
            raise HttpError(400, {"status": 0, "errors": ["JSON body must be an object"]})
        return data

    def _read_form(self, cap, attachments):
        """Fields of a urlencoded, multipart or JSON body: (fields, upload, encoding, errors).
        With `attachments`, the multipart part named `attachment` is streamed to disk."""
        errs = _Errors()
        ctype, params = parse_options_header(self.headers.get("Content-Type", ""))
        if ctype.startswith(b"multipart/"):
            fields, upload = self._read_multipart(params.get(b"boundary"), cap, attachments,
                                                  errs)
            return fields, upload, "multipart", errs
        if ctype in (b"application/x-www-form-urlencoded", b""):
            raw = self._read_all(cap)
            fields = {}
            for pair in raw.split(b"&"):
                if not pair:
                    continue
                name, _, value = pair.partition(b"=")
                name = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
                try:
                    fields[name] = unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
                except UnicodeDecodeError:
                    errs.add(name, "%s is not valid UTF-8" % name)
            return fields, None, "form", errs
        if ctype == b"application/json":
            raw = self._read_all(cap)
            try:
                data = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise HttpError(400, {"status": 0, "errors": ["body is not valid JSON"]}) from None
            if not isinstance(data, dict):
                raise HttpError(400, {"status": 0, "errors": ["JSON body must be an object"]})
            fields = {}
            for name, value in data.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    fields[name] = "1" if value else "0"
                elif isinstance(value, (str, int, float)):
                    fields[name] = str(value)
                else:
                    errs.add(name, "%s must be a string or a number" % name)
            return fields, None, "json", errs
        self._discard_body(cap)
        raise HttpError(415, {"status": 0, "errors": [
            "unsupported Content-Type %r" % ctype.decode("latin-1")]})

    def _read_multipart(self, boundary, cap, attachments, errs):
        if not boundary:
            self._discard_body(cap)
            raise HttpError(400, {"status": 0, "errors": ["multipart body without a boundary"]})
        fields = {}
        state = {"upload": None, "sink": None, "name": None, "ended": False}
        headers = {}
        hfield, hvalue = bytearray(), bytearray()
        msg_dir = self.app.messages_dir

        def on_part_begin():
            headers.clear()
            state["sink"] = state["name"] = None

        def on_header_field(data, start, end):
            hfield.extend(data[start:end])

        def on_header_value(data, start, end):
            hvalue.extend(data[start:end])

        def on_header_end():
            headers[bytes(hfield).decode("latin-1").strip().lower()] = \
                bytes(hvalue).decode("latin-1").strip()
            hfield.clear()
            hvalue.clear()

        def on_headers_finished():
            _, disp = parse_options_header(headers.get("content-disposition", ""))
            name = disp.get(b"name", b"").decode("utf-8", "replace")
            filename = disp.get(b"filename")
            state["name"] = name
            if name == "attachment" and attachments:
                if state["upload"] is not None:
                    errs.add("attachment", "only one attachment per message")
                    state["sink"] = "discard"
                    return
                fname = None
                if filename is not None:
                    try:
                        fname = filename.decode("utf-8")
                    except UnicodeDecodeError:
                        fname = filename.decode("latin-1")
                ctype = headers.get("content-type", "")
                state["upload"] = _Upload(msg_dir, fname, ctype)
                state["sink"] = state["upload"]
            elif filename is not None or name == "attachment":
                state["sink"] = "discard"
            else:
                state["sink"] = bytearray()

        def on_part_data(data, start, end):
            sink = state["sink"]
            if sink is None or sink == "discard":
                return
            if isinstance(sink, bytearray):
                sink.extend(data[start:end])
            else:
                sink.write(data[start:end])

        def on_part_end():
            sink = state["sink"]
            if isinstance(sink, bytearray):
                name = state["name"]
                try:
                    fields[name] = bytes(sink).decode("utf-8")
                except UnicodeDecodeError:
                    errs.add(name, "%s is not valid UTF-8" % name)
            elif isinstance(sink, _Upload):
                sink.close()
            state["sink"] = None

        def on_end():
            state["ended"] = True

        callbacks = {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                     "on_header_value": on_header_value, "on_header_end": on_header_end,
                     "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
                     "on_part_end": on_part_end, "on_end": on_end}
        try:
            parser = MultipartParser(boundary, callbacks, max_header_count=16)
            for chunk in self._chunks(cap):
                if state["ended"]:
                    continue  # epilogue after the closing boundary
                parser.write(chunk)
            parser.finalize()
            if not state["ended"]:
                raise HttpError(400, {"status": 0, "errors": [
                    "multipart body is malformed or incomplete (no closing boundary)"]},
                    close=not self.body_done)
        except FormParserError as e:
            if state["upload"]:
                state["upload"].discard()
            raise HttpError(400, {"status": 0, "errors": [
                "multipart body is malformed: %s" % e]}, close=not self.body_done) from None
        except BaseException:
            if state["upload"]:
                state["upload"].discard()
            raise
        return fields, state["upload"]

    # ---- key checks shared by the endpoints

    def _check_token(self, errs, token):
        if not KEY_RE.fullmatch(token or "") or (
                self.app.tokens is not None and token not in self.app.tokens):
            errs.add("token", "application token is invalid")
            return False
        return True

    def _check_users(self, errs, value, at_most=50):
        keys = (value or "").split(",")
        if len(keys) > at_most:
            errs.add("user", "too many user keys (%d, at most %d)" % (len(keys), at_most))
            return []
        for k in keys:
            if not KEY_RE.fullmatch(k) or (self.app.users is not None and k not in self.app.users):
                errs.add("user", "user identifier is invalid")
                return []
        return keys

    def _check_device(self, errs, fields):
        device = fields.get("device")
        if device and not all(DEVICE_RE.fullmatch(d) for d in device.split(",")):
            errs.add("device", "device name is invalid (1-25 characters of A-Z a-z 0-9 _ -, "
                               "several joined by commas)")

    def _token_only(self, token):
        errs = _Errors()
        self._check_token(errs, token)
        if errs:
            raise HttpError(400, errs.payload(str(uuid.uuid4())))

    # ---- endpoints

    def _ep_messages(self):
        app = self.app
        request_id = str(uuid.uuid4())
        fields, upload, encoding, errs = self._read_form(self._body_cap("/1/messages.json"),
                                                         attachments=True)
        try:
            fields = {k: v for k, v in fields.items() if v != "" or k in ("message", "token",
                                                                         "user")}
            attachment, priority = self._validate_message(fields, upload, encoding, errs)
            if errs:
                return Reply(400, errs.payload(request_id))
            if not app._take_quota():
                return Reply(429, {"status": 0, "errors": ["quota exceeded"],
                                   "request": request_id})
            transport = {
                "http_version": self.request_version,
                "content_length": self.headers.get("Content-Length"),
                "transfer_encoding": self.headers.get("Transfer-Encoding"),
                "connection": self.headers.get("Connection"),
                "content_type": self.headers.get("Content-Type"),
                "user_agent": self.headers.get("User-Agent"),
                "connection_id": self.conn_id, "request_on_connection": self.conn_requests,
            }
            receipt = app._store_message(fields, attachment, encoding, request_id, transport,
                                         emergency=priority == 2)
            payload = {"status": 1, "request": request_id}
            if receipt:
                payload["receipt"] = receipt
            return Reply(200, payload)
        finally:
            if upload is not None:
                upload.discard()  # no-op when it was moved into place

    def _validate_message(self, f, upload, encoding, errs):
        """Checks every rule of SPEC section 1; returns the attachment as (kind, data) or None,
        and the priority."""
        self._check_token(errs, f.get("token"))
        self._check_users(errs, f.get("user"))
        message = f.get("message")
        if message is None or not message.strip():
            errs.add("message", "message cannot be blank")
        elif len(message) > 1024:
            errs.add("message", "message is too long (%d characters, at most 1024)"
                     % len(message))
        for name, limit in (("title", 250), ("url", 512), ("url_title", 100)):
            if len(f.get(name, "")) > limit:
                errs.add(name, "%s is too long (%d characters, at most %d)"
                         % (name, len(f[name]), limit))
        self._check_device(errs, f)
        flags = {}
        for name in ("html", "monospace"):
            if name in f:
                if f[name] not in ("0", "1"):
                    errs.add(name, "%s must be 0 or 1" % name)
                flags[name] = f[name] == "1"
        if flags.get("html") and flags.get("monospace"):
            errs.add(("html", "monospace"), "html and monospace cannot be combined")
        priority = 0
        if "priority" in f:
            priority = _check_int(errs, f, "priority", "priority must be an integer from -2 to 2",
                                  -2, 2)
        if priority == 2:
            if "retry" not in f:
                errs.add("retry", "retry is required with priority 2")
            else:
                _check_int(errs, f, "retry", "retry must be an integer of at least 30 seconds",
                           30)
            if "expire" not in f:
                errs.add("expire", "expire is required with priority 2")
            else:
                _check_int(errs, f, "expire",
                           "expire must be a positive integer of at most 10800 seconds", 1, 10800)
        elif "ttl" in f:
            _check_int(errs, f, "ttl", "ttl must be a positive integer (seconds)", 1)
        if "timestamp" in f:
            _check_int(errs, f, "timestamp", "timestamp must be a Unix time in whole seconds", 0)
        attachment = None
        if upload is not None:
            if not upload.filename:
                errs.add("attachment", "attachment part needs a filename")
            if not _is_image_type(upload.content_type):
                errs.add("attachment", "attachment must have an image Content-Type (image/...)")
            if upload.too_big:
                errs.add("attachment", "attachment is too large (%d bytes, at most %d)"
                         % (upload.size, MAX_ATTACHMENT))
            elif upload.size == 0:
                errs.add("attachment", "attachment is empty")
            attachment = ("upload", upload)
        elif "attachment" in f:
            errs.add("attachment", "attachment must be sent as a file part of a "
                                   "multipart/form-data body (or use attachment_base64)")
        if "attachment_base64" in f:
            if upload is not None or "attachment" in f:
                errs.add("attachment_base64", "send either attachment or attachment_base64, "
                                              "not both")
            if not _is_image_type(f.get("attachment_type")):
                errs.add("attachment_type", "attachment_type (an image MIME type) is required "
                                            "with attachment_base64")
            data = _decode_base64(f["attachment_base64"])
            if data is None:
                hint = (" (it contains spaces: a '+' sent unencoded in a form body arrives as a "
                        "space)" if " " in f["attachment_base64"] else "")
                errs.add("attachment_base64", "attachment_base64 is not valid Base64" + hint)
            elif len(data) > MAX_ATTACHMENT:
                errs.add("attachment_base64", "attachment_base64 is too large (%d bytes decoded, "
                                              "at most %d)" % (len(data), MAX_ATTACHMENT))
            elif not data:
                errs.add("attachment_base64", "attachment is empty")
            else:
                attachment = ("base64", data)
        return attachment, priority

    def _ep_receipt(self, receipt):
        token = self.query.get("token", "")
        self._token_only(token)
        state = self.app._receipt_state(receipt, token)
        state.update(status=1, request=str(uuid.uuid4()))
        return Reply(200, state)

    def _ep_cancel(self, receipt):
        fields, _, _, _ = self._read_form(MAX_SMALL_BODY, attachments=False)
        token = fields.get("token", self.query.get("token", ""))
        self._token_only(token)
        self.app._cancel([receipt], token)
        return Reply(200, {"status": 1})

    def _ep_cancel_by_tag(self, tag):
        fields, _, _, _ = self._read_form(MAX_SMALL_BODY, attachments=False)
        token = fields.get("token", self.query.get("token", ""))
        self._token_only(token)
        count = self.app._cancel_by_tag(unquote(tag), token)
        return Reply(200, {"status": 1, "canceled": count})

    def _ep_validate(self):
        fields, _, _, errs = self._read_form(MAX_SMALL_BODY, attachments=False)
        self._check_token(errs, fields.get("token"))
        self._check_users(errs, fields.get("user"), at_most=1)
        device = fields.get("device")
        if device and device not in self.app.devices:
            errs.add("device", "device name is not valid for user")
        if errs:
            return Reply(400, errs.payload(str(uuid.uuid4())))
        return Reply(200, {"status": 1, "group": 0, "devices": list(self.app.devices),
                           "licenses": list(LICENSES)})

    def _ep_sounds(self):
        self._token_only(self.query.get("token", ""))
        return Reply(200, {"status": 1, "sounds": dict(SOUNDS)})

    def _ep_limits(self):
        self._token_only(self.query.get("token", ""))
        limit, remaining, reset = self.app._quota_state()
        return Reply(200, {"status": 1, "limit": limit, "remaining": remaining, "reset": reset})

    def _ep_glances(self):
        fields, _, _, errs = self._read_form(MAX_SMALL_BODY, attachments=False)
        fields = {k: v for k, v in fields.items() if v != "" or k in ("token", "user")}
        self._check_token(errs, fields.get("token"))
        self._check_users(errs, fields.get("user"), at_most=1)
        self._check_device(errs, fields)
        present = [k for k in ("title", "text", "subtext", "count", "percent") if k in fields]
        if not present:
            errs.add("glance", "at least one of title, text, subtext, count or percent is "
                               "required")
        for name in ("title", "text", "subtext"):
            if len(fields.get(name, "")) > 100:
                errs.add(name, "%s is too long (%d characters, at most 100)"
                         % (name, len(fields[name])))
        if "count" in fields:
            _check_int(errs, fields, "count", "count must be an integer")
        if "percent" in fields:
            _check_int(errs, fields, "percent", "percent must be an integer from 0 to 100", 0,
                       100)
        request_id = str(uuid.uuid4())
        if errs:
            return Reply(400, errs.payload(request_id))
        self.app._store_glance(fields, request_id)
        return Reply(200, {"status": 1, "request": request_id})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 32

    def server_bind(self):
        TCPServer.server_bind(self)  # no reverse DNS lookup (HTTPServer.server_bind does one)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    def handle_error(self, request, client_address):
        self.app._log("error while serving %s: %s" % (client_address[0], sys.exc_info()[1]))


# --------------------------------------------------------------------------- the server object

class PushoverServer:
    """A local Pushover API; see the module docstring. Thread-safe; `start()` serves from a
    background daemon thread until `stop()` or `max_seconds` (None: no limit)."""

    def __init__(self, host="127.0.0.1", port=0, data_dir=None, tokens=None, users=None,
                 quota=10000, max_seconds=300, fault=None, slow_seconds=10.0,
                 socket_timeout=10.0, devices=DEFAULT_DEVICES, log=None, clock=time.time):
        self.host = host
        self.port = port
        self.data_dir = Path(data_dir if data_dir is not None else "server-data")
        self.messages_dir = self.data_dir / "messages"
        self.glances_dir = self.data_dir / "glances"
        self.tokens = frozenset(tokens) if tokens is not None else None
        self.users = frozenset(users) if users is not None else None
        self.quota = int(quota)
        self.max_seconds = max_seconds
        self.slow_seconds = float(slow_seconds)
        self.socket_timeout = float(socket_timeout)
        self.devices = tuple(devices)
        self.log = log  # a text stream for one masked line per request, or None (quiet)
        self.clock = clock
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd = None
        self._thread = None
        self._messages = []
        self._glances = []
        self._receipts = {}  # receipt -> message dict
        self._full_users = {}  # receipt -> full user keys (memory only)
        self._acked_by = {}  # receipt -> full key of the acknowledging user (memory only)
        self._internal_errors = 0
        self._attachments = {}  # stored file name -> content type
        self._seq = 0
        self._fault = (None, 0)
        if fault is not None:
            self.set_fault(fault, None)
        self._remaining = self.quota
        self._reset = _next_month(clock())
        self._conns = {}
        self._conn_seq = 0
        self._max_concurrent = 0
        self._requests = []

    # ---- life

    @property
    def url(self):
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = "[%s]" % host
        return "http://%s:%d" % (host, self.port)

    @property
    def api_url(self):
        return self.url + "/1"

    def start(self):
        if self.running:
            return self
        self.messages_dir.mkdir(parents=True, exist_ok=True)
        self.glances_dir.mkdir(parents=True, exist_ok=True)
        self._load()
        with self._lock:  # the quota is counted from `quota` at each start (documented)
            self._remaining = self.quota
            self._reset = _next_month(self.clock())
        if not _is_loopback(self.host):  # from the CLI or from code alike
            print("WARNING: listening on %s: this server is reachable from the network, has no "
                  "authentication and shows every message it receives." % self.host,
                  file=sys.stderr)
        cls = _HTTPServer
        if ":" in self.host:
            cls = type("_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        self._httpd = cls((self.host, self.port), _Handler)
        self._httpd.app = self
        self._httpd.timeout = 0.05  # how often the loop looks at stop() and max_seconds
        self.port = self._httpd.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="pushover-server", daemon=True)
        self._thread.start()
        return self

    def _serve(self):
        deadline = (time.monotonic() + self.max_seconds) if self.max_seconds else None
        try:
            while not self._stopping.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    self._log("max_seconds reached, stopping")
                    break
                self._httpd.handle_request()
        finally:
            self._stopping.set()
            self._httpd.server_close()
            self._close_connections()

    def stop(self):
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        self._close_connections()

    def wait(self):
        """Blocks until the server stops (stop() from another thread, or max_seconds)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _close_connections(self):
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _conn_opened(self, conn):
        with self._lock:
            self._conn_seq += 1
            self._conns[conn] = self._conn_seq
            self._max_concurrent = max(self._max_concurrent, len(self._conns))
            return self._conn_seq, 0

    def _conn_closed(self, conn):
        with self._lock:
            self._conns.pop(conn, None)

    def _request_done(self, record):
        with self._lock:
            self._requests.append(record)
            del self._requests[:-1000]

    def _log(self, line):
        if self.log is not None:
            try:
                self.log.write(mask_text(line) + "\n")
                self.log.flush()
            except (OSError, ValueError):
                pass

    # ---- faults

    def set_fault(self, mode, count=1):
        """The next `count` API requests (None: all, until cleared) misbehave as `mode`;
        mode None (or "" / "none") clears."""
        if mode in (None, "", "none"):
            with self._lock:
                self._fault = (None, 0)
            return
        if mode not in FAULT_MODES:
            raise ValueError("unknown fault mode %r; known: %s" % (mode, ", ".join(FAULT_MODES)))
        if count is not None:
            count = int(count)
            if count < 0:
                raise ValueError("count must be >= 0 or None")
        with self._lock:
            self._fault = (mode, count)

    def fault_state(self):
        """(mode, count left): mode None when no fault is set; count None: until cleared."""
        with self._lock:
            return self._fault

    def _take_fault(self):
        with self._lock:
            mode, count = self._fault
            if mode is None:
                return None
            if count is None:
                return mode
            if count <= 0:
                self._fault = (None, 0)
                return None
            self._fault = (mode, count - 1) if count > 1 else (None, 0)
            return mode

    # ---- quota

    def _quota_state(self):
        with self._lock:
            now = self.clock()
            if now >= self._reset:
                self._remaining = self.quota
                self._reset = _next_month(now)
            return self.quota, self._remaining, self._reset

    def _limit_headers(self):
        limit, remaining, reset = self._quota_state()
        return [("X-Limit-App-Limit", str(limit)), ("X-Limit-App-Remaining", str(remaining)),
                ("X-Limit-App-Reset", str(reset))]

    def _take_quota(self):
        with self._lock:
            self._quota_state()
            if self._remaining <= 0:
                return False
            self._remaining -= 1
            return True

    # ---- storage

    def _load(self):
        with self._lock:
            self._messages, self._glances, self._receipts, self._attachments = [], [], {}, {}
            for p in self.messages_dir.glob(".upload-*.part"):
                p.unlink(missing_ok=True)
            for folder, out, name in ((self.messages_dir, self._messages, RECORD_NAME),
                                      (self.glances_dir, self._glances, GLANCE_NAME)):
                for p in folder.glob("*.json"):
                    if not name.fullmatch(p.name):
                        continue  # not a record (e.g. an attachment of an older version)
                    try:
                        rec = json.loads(p.read_text("utf-8"))
                        int(rec["seq"])
                    except (OSError, ValueError, KeyError, TypeError):
                        self._log("skipping unreadable %s" % p.name)
                        continue
                    out.append(rec)
                    self._seq = max(self._seq, int(rec["seq"]))
            for rec in self._messages:
                if rec.get("receipt"):
                    self._receipts[rec["receipt"]["receipt"]] = rec
                if rec.get("attachment"):
                    self._attachments[rec["attachment"]["stored_as"]] = \
                        rec["attachment"]["content_type"]
            self._messages.sort(key=lambda r: r["seq"], reverse=True)
            self._glances.sort(key=lambda r: r["seq"], reverse=True)

    def _store_message(self, f, attachment, encoding, request_id, transport, emergency=False):
        now = self.clock()
        with self._lock:
            self._seq += 1
            seq = self._seq
        mid = "%06d-%s" % (seq, secrets.token_hex(4))
        fields = dict(f)
        fields["token"] = mask(f.get("token", ""))
        fields["user"] = mask(f.get("user", ""))
        if "attachment_base64" in fields:
            fields["attachment_base64"] = "(%d Base64 characters, saved as the attachment)" % len(
                f["attachment_base64"])
        record = {"id": mid, "seq": seq, "request": request_id, "received_at": int(now),
                  "received_at_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                  "token": fields["token"], "user": fields["user"], "encoding": encoding,
                  "fields": fields, "attachment": None, "receipt": None, "transport": transport}
        if attachment is not None:
            kind, data = attachment
            if kind == "upload":
                filename, ctype, size = data.filename, data.content_type, data.size
                sha = data.sha.hexdigest()
            else:
                filename, ctype, size = None, f["attachment_type"], len(data)
                sha = hashlib.sha256(data).hexdigest()
            ctype = ctype.split(";")[0].strip().lower()
            ext = os.path.splitext(filename or "")[1].lower()
            if not re.fullmatch(r"\.[a-z0-9]{1,8}", ext) or ext in (".json", ".tmp", ".part"):
                # never a name that _load would take for a message record
                ext = EXTENSIONS.get(ctype, ".img")
            stored = mid + "-attachment" + ext
            if kind == "upload":
                data.close()
                os.replace(data.path, self.messages_dir / stored)
            else:
                (self.messages_dir / stored).write_bytes(data)
            record["attachment"] = {"filename": filename, "content_type": ctype, "size": size,
                                    "sha256": sha, "stored_as": stored,
                                    "url": "/inbox/attachments/" + stored}
        receipt = None
        if emergency:
            receipt = "".join(secrets.choice(ALNUM) for _ in range(30))
            tags = [t.strip() for t in f.get("tags", "").split(",") if t.strip()]
            record["receipt"] = {
                "receipt": receipt, "app": _token_id(f["token"]), "retry": int(f["retry"]),
                "expire": int(f["expire"]), "expires_at": int(now) + int(f["expire"]),
                "created_at": int(now), "tags": tags, "callback": f.get("callback", ""),
                "acknowledged": 0, "acknowledged_at": 0, "acknowledged_by": "",
                "acknowledged_by_device": "", "canceled": 0, "canceled_at": 0}
        with self._lock:
            _write_json(self.messages_dir / (mid + ".json"), record)
            self._messages.insert(0, record)
            if receipt:
                self._receipts[receipt] = record
                self._full_users[receipt] = f["user"].split(",")
            if record["attachment"]:
                self._attachments[record["attachment"]["stored_as"]] = \
                    record["attachment"]["content_type"]
        return receipt

    def _store_glance(self, f, request_id):
        now = self.clock()
        with self._lock:
            self._seq += 1
            seq = self._seq
            gid = "g%06d-%s" % (seq, secrets.token_hex(4))
            fields = dict(f, token=mask(f.get("token", "")), user=mask(f.get("user", "")))
            record = {"id": gid, "seq": seq, "request": request_id, "received_at": int(now),
                      "fields": fields}
            _write_json(self.glances_dir / (gid + ".json"), record)
            self._glances.insert(0, record)

    def _attachment_file(self, name):
        with self._lock:
            ctype = self._attachments.get(name)
        if ctype is None:
            return None
        return self.messages_dir / name, ctype

    # ---- receipts

    def _find_receipt(self, receipt, token=None):
        with self._lock:
            rec = self._receipts.get(receipt)
        if rec is None or (token is not None and rec["receipt"]["app"] != _token_id(token)) \
                or self.clock() > rec["receipt"]["created_at"] + RECEIPT_LIFETIME:
            raise HttpError(404, {"receipt": "not found", "status": 0, "errors": [
                "receipt not found; may be invalid or expired"]})
        return rec

    def _public_state(self, receipt, r):
        now = int(self.clock())
        end = min(x for x in (now, r["expires_at"], r["acknowledged_at"] or now,
                              r["canceled_at"] or now))
        alerts = min(MAX_REALERTS, max(0, end - r["created_at"]) // max(1, r["retry"]))
        acked_by = self._acked_by.get(receipt, r["acknowledged_by"])
        called = 1 if r["acknowledged"] and r["callback"] else 0
        state = {
            "acknowledged": r["acknowledged"], "acknowledged_at": r["acknowledged_at"],
            "acknowledged_by": acked_by, "acknowledged_by_device": r["acknowledged_by_device"],
            "last_delivered_at": r["created_at"] + alerts * r["retry"],
            "expired": 1 if (now >= r["expires_at"] or r["canceled"]) else 0,
            "expires_at": r["expires_at"], "called_back": called,
            "called_back_at": r["acknowledged_at"] if called else 0,
        }
        if r["canceled"]:
            state.update(canceled=1, canceled_at=r["canceled_at"])
        return state

    def _receipt_state(self, receipt, token):
        rec = self._find_receipt(receipt, token)
        with self._lock:
            return self._public_state(receipt, rec["receipt"])

    def _save(self, rec):
        _write_json(self.messages_dir / (rec["id"] + ".json"), rec)

    def _cancel(self, receipts, token):
        recs = [self._find_receipt(r, token) for r in receipts]
        with self._lock:
            for rec in recs:
                r = rec["receipt"]
                if not (r["canceled"] or r["acknowledged"] or self.clock() >= r["expires_at"]):
                    r["canceled"], r["canceled_at"] = 1, int(self.clock())
                    self._save(rec)
        return len(recs)

    def _cancel_by_tag(self, tag, token):
        app = _token_id(token)
        count = 0
        with self._lock:
            for rec in self._receipts.values():
                r = rec["receipt"]
                if r["app"] == app and tag in r["tags"] and not (
                        r["canceled"] or r["acknowledged"] or self.clock() >= r["expires_at"]):
                    r["canceled"], r["canceled_at"] = 1, int(self.clock())
                    self._save(rec)
                    count += 1
        return count

    def acknowledge(self, receipt, user=None, device=None):
        """A person acknowledging an emergency-priority message. Returns the receipt's state
        (as `GET /1/receipts/{receipt}.json` would show it). KeyError: unknown receipt;
        ValueError: it expired or was cancelled. Acknowledging twice changes nothing."""
        with self._lock:
            rec = self._receipts.get(receipt)
            if rec is None:
                raise KeyError(receipt)
            r = rec["receipt"]
            if not r["acknowledged"]:
                if r["canceled"]:
                    raise ValueError("receipt was cancelled")
                if self.clock() >= r["expires_at"]:
                    raise ValueError("receipt has expired")
                if user is None:
                    users = self._full_users.get(receipt)
                    user = users[0] if users else rec["user"].split(",")[0]
                r["acknowledged"], r["acknowledged_at"] = 1, int(self.clock())
                self._acked_by[receipt] = user
                r["acknowledged_by"] = mask(user)
                r["acknowledged_by_device"] = device or self.devices[0]
                self._save(rec)
            return self._public_state(receipt, r)

    def acknowledge_message(self, message_id):
        """acknowledge() by the id of the stored emergency message (the inbox's button, which
        shows receipts masked). KeyError: no such message, or not an emergency."""
        with self._lock:
            receipt = next((m["receipt"]["receipt"] for m in self._messages
                            if m["id"] == message_id and m.get("receipt")), None)
        if receipt is None:
            raise KeyError(message_id)
        return self.acknowledge(receipt)

    # ---- views

    def messages(self):
        """Every stored message, newest first (copies: dicts as in the JSON files)."""
        with self._lock:
            return json.loads(json.dumps(self._messages))

    def glances(self):
        with self._lock:
            return json.loads(json.dumps(self._glances))

    def requests(self):
        """One record per API/site request answered or dropped, oldest first (masked paths):
        time, connection, on_connection, method, path, version, connection_header, status,
        fault. `status` None: the connection was dropped without a reply."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def stats(self):
        with self._lock:
            return {"connections": self._conn_seq, "open_connections": len(self._conns),
                    "internal_errors": self._internal_errors,
                    "max_concurrent": self._max_concurrent, "requests": len(self._requests),
                    "messages": len(self._messages), "glances": len(self._glances)}

    def _inbox_html(self):
        msgs = self.messages()
        glances = self.glances()
        e = html.escape
        out = ["<!doctype html><html><head><meta charset='utf-8'>",
               "<title>Local Pushover inbox</title><style>",
               "body{font-family:system-ui,sans-serif;margin:2em;background:#f4f4f6;color:#222}",
               ".m{background:#fff;border-radius:8px;padding:1em;margin:0 0 1em;",
               "box-shadow:0 1px 3px #0002}.t{font-weight:600;font-size:1.1em}",
               ".b{white-space:pre-wrap;margin:.5em 0}.meta{color:#666;font-size:.85em}",
               "table{border-collapse:collapse;font-size:.85em}td{padding:1px 8px 1px 0;",
               "vertical-align:top}img{max-width:480px;max-height:360px;display:block;",
               "margin-top:.5em;border-radius:4px}.p2{border-left:6px solid #c00}",
               ".p1{border-left:6px solid #e80}</style></head><body>",
               "<h1>Local Pushover inbox</h1><p class='meta'>%d message(s), newest first. "
               "API: <code>%s</code>. Keys are shown masked.</p>" % (len(msgs), e(self.api_url))]
        for m in msgs:
            f = m["fields"]
            pri = f.get("priority", "0")
            out.append("<div class='m %s' id='%s'>" % (
                {"2": "p2", "1": "p1"}.get(pri, ""), e(m["id"])))
            out.append("<div class='t'>%s</div>" % e(f.get("title", "(no title)")))
            out.append("<div class='b'>%s</div>" % e(f.get("message", "")))
            out.append("<div class='meta'>%s UTC &middot; %s &middot; request %s</div>" % (
                e(m["received_at_iso"].replace("T", " ").rstrip("Z")), e(m["encoding"]),
                e(m["request"])))
            out.append("<table>")
            for k in sorted(f):
                if k in ("title", "message"):
                    continue
                out.append("<tr><td>%s</td><td>%s</td></tr>" % (e(k), e(str(f[k]))))
            r = m.get("receipt")
            if r:
                state = ("acknowledged" if r["acknowledged"] else "cancelled" if r["canceled"]
                         else "expired" if self.clock() >= r["expires_at"] else "alerting")
                out.append("<tr><td>receipt</td><td>%s (%s)</td></tr>" % (
                    e(mask(r["receipt"])), state))
            out.append("</table>")
            if r and state == "alerting":  # as the person's phone would
                out.append("<form method='post' action='/_control/ack-message/%s'>"
                           "<button>Acknowledge</button></form>" % e(quote(m["id"])))
            a = m.get("attachment")
            if a:
                out.append("<div class='meta'>attachment %s, %s, %d bytes</div>" % (
                    e(a["filename"] or "(base64)"), e(a["content_type"]), a["size"]))
                out.append("<img src='%s' alt='%s'>" % (e(a["url"]), e(a["filename"] or "")))
            out.append("</div>")
        if glances:
            out.append("<h2>Glances</h2>")
            for g in glances:
                f = g["fields"]
                out.append("<div class='m'><table>%s</table></div>" % "".join(
                    "<tr><td>%s</td><td>%s</td></tr>" % (e(k), e(str(v)))
                    for k, v in sorted(f.items())))
        out.append("</body></html>\n")
        return "".join(out)


# --------------------------------------------------------------------------- command line

def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description="A local Pushover-compatible API server with an "
                                             "HTML inbox, for development and tests.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8765")))
    ap.add_argument("--data", default="server-data", help="folder for messages (server-data/)")
    ap.add_argument("--token", action="append", help="accept only this application token "
                                                     "(repeatable); default: any well-formed")
    ap.add_argument("--user", action="append", help="accept only this user key (repeatable)")
    ap.add_argument("--quota", type=int, default=10000, help="monthly message limit")
    ap.add_argument("--fault", choices=FAULT_MODES, help="misbehave on every API request")
    ap.add_argument("--fault-count", type=int, default=None,
                    help="only for the next N API requests (default: all)")
    ap.add_argument("--max-seconds", type=float, default=None, help="stop after N seconds")
    ap.add_argument("--slow-seconds", type=float, default=10.0, help="delay of the slow fault")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="log one line per request to stderr (keys masked)")
    args = ap.parse_args(argv)
    for t in (args.token or []) + (args.user or []):
        if not KEY_RE.fullmatch(t):
            print("warning: %r is not 30 characters of A-Z a-z 0-9; it can never match"
                  % mask(t), file=sys.stderr)
    srv = PushoverServer(host=args.host, port=args.port, data_dir=args.data, tokens=args.token,
                         users=args.user, quota=args.quota, max_seconds=args.max_seconds,
                         slow_seconds=args.slow_seconds,
                         log=sys.stderr if args.verbose else None)
    if args.fault:
        srv.set_fault(args.fault, args.fault_count)
    try:
        srv.start()
    except OSError as e:
        print("cannot listen on %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1
    print("Local Pushover: inbox %s/  API %s" % (srv.url, srv.api_url), flush=True)
    try:
        srv.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
