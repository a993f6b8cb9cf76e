"""HTTP framing: the request handler, body decoding, routing, replies and fault modes.

Request bodies need an exact `Content-Length` (a chunked request body gets 411: no client of
the API sends one, and released MicroPython firmware cannot). Urlencoded, multipart (parsed by
python-multipart's FormParser) and JSON bodies are decoded to text fields here; the rules
(rules.py) and the store (store.py) never see HTTP. Every reply leaves in one write.

Body size: a multipart body (or one of another type) larger than 5,242,880 + 64 KiB bytes is
refused with 413 before it is read. A form or JSON body may be larger (3 x the Base64 size of a
5,242,880-byte image + 64 KiB) so that `attachment_base64` can be checked at its own limit.
Field values must be valid UTF-8.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes, urlsplit

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import FormParser, parse_options_header

from . import e2e, inbox, rules
from .masking import mask_text
from .store import ReceiptNotFound

MAX_ATTACHMENT = rules.MAX_ATTACHMENT
SLACK = 64 * 1024
MAX_BODY = MAX_ATTACHMENT + SLACK  # multipart (and unknown) bodies, by Content-Length
MAX_TEXT_BODY = 3 * 4 * ((MAX_ATTACHMENT + 2) // 3) + SLACK  # form/JSON: room for Base64
MAX_SMALL_BODY = SLACK  # every other endpoint
OVERSIZED_REPLY = 1024 * 1024

FAULT_MODES = ("drop_mid_body", "500", "503", "429", "slow", "chunked", "keepalive",
               "invalid_json", "oversized", "no_reply")
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,120}")
LICENSES = ["Android", "iOS", "Desktop"]


class HttpError(Exception):
    """A reply to send instead of going on; `close` when the body was not read to its end."""

    def __init__(self, status, payload, close=False, headers=()):
        super().__init__(status)
        self.status, self.payload, self.close, self.headers = status, payload, close, list(headers)


class Abort(Exception):
    """The connection was dropped on purpose (fault) or by the client: no reply."""


class Reply:
    def __init__(self, status, payload, headers=()):
        self.status, self.payload, self.headers = status, payload, list(headers)


def _error(status, text, **kw):
    return HttpError(status, {"status": 0, "errors": [text]}, **kw)


class Handler(BaseHTTPRequestHandler):
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
        self.store = self.app.store
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
        pass  # every reply is logged (masked) by _send / _drop

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
                    raise _error(404, "unknown fault mode %r; known: %s"
                                 % (m.group(1), ", ".join(FAULT_MODES)))
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
        except Abort:
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
                raise _error(405, "method not allowed", headers=[("Allow", ", ".join(allowed))])
            raise _error(404, "not found: %s" % path)
        fault = self.fault
        cap = self._body_cap(path)
        if fault == "drop_mid_body":
            self._read_part_then_drop(cap)
        if fault in ("500", "503", "429", "no_reply"):
            self._discard_body(cap)
            if fault == "no_reply":
                raise Abort()
            self.limit_headers = False
            self._send_fault(fault)
            return
        reply = handler(*args)
        if fault == "slow":
            self.app._stopping.wait(self.app.slow_seconds)
            if self.app._stopping.is_set():
                raise Abort()
        if self.limit_headers:
            reply.headers += self.store.limit_headers()
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
            limit, _, reset = self.store.quota_state()
            headers = [("X-Limit-App-Limit", str(limit)), ("X-Limit-App-Remaining", "0"),
                       ("X-Limit-App-Reset", str(reset))]
            self._send_json(429, {"status": 0, "errors": ["quota exceeded"],
                                  "request": str(uuid.uuid4())}, headers=headers)

    def _site(self, method, path):
        app = self.app
        if method == "HEAD":
            method = "GET"  # the read-only pages answer HEAD too (_send leaves out the body)
        if method == "GET" and path == "/":
            body = inbox.page(self.store, app.api_url).encode()
            return self._send(200, body, "text/html; charset=utf-8", [
                ("Content-Security-Policy", inbox.PAGE_CSP), ("Cache-Control", "no-store")])
        if method == "GET" and path == "/inbox/list.html":  # what the page's script polls
            body = inbox.message_list(self.store).encode()
            return self._send(200, body, "text/html; charset=utf-8", [
                ("Content-Security-Policy", inbox.PAGE_CSP), ("Cache-Control", "no-store")])
        if method == "GET" and path == "/inbox/live.js":
            return self._send(200, inbox.LIVE_JS.encode(), "text/javascript; charset=utf-8",
                              [("Cache-Control", "no-store")])
        if method == "GET" and path == "/inbox.json":
            return self._send_json(200, self.store.messages())
        if method == "GET" and path == "/glances.json":
            return self._send_json(200, self.store.glances())
        m = re.fullmatch(r"/inbox/attachments/([^/]+)", path)
        if method == "GET" and m:
            return self._send_attachment(m.group(1))
        if path == "/_control/fault":
            if method == "POST":
                data = self._read_control_json()
                try:
                    app.set_fault(data.get("mode"), data.get("count", 1))
                except (ValueError, TypeError) as e:
                    raise _error(400, str(e)) from None
            elif method != "GET":
                raise _error(405, "method not allowed")
            mode, count = app.fault_state()
            return self._send_json(200, {"status": 1, "mode": mode, "count": count})
        m = re.fullmatch(r"/_control/ack/([^/]+)", path)
        if m and method == "POST":
            data = self._read_control_json()
            try:
                state = self.store.acknowledge(unquote(m.group(1)), user=data.get("user"),
                                               device=data.get("device"))
            except KeyError:
                raise _error(404, "receipt not found") from None
            except ValueError as e:
                raise _error(409, str(e)) from None
            state["status"] = 1
            return self._send_json(200, state)
        m = re.fullmatch(r"/_control/ack-message/([^/]+)", path)
        if m and method == "POST":  # the inbox's Acknowledge button (a plain HTML form)
            self._discard_body(MAX_SMALL_BODY)
            mid = unquote(m.group(1))
            try:
                self.store.acknowledge_message(mid)
            except KeyError:
                raise _error(404, "no such emergency message") from None
            except ValueError as e:
                raise _error(409, str(e)) from None
            return self._send(303, b"", "text/plain", [("Location", "/#" + quote(mid))])
        self._discard_body(MAX_SMALL_BODY)
        raise _error(404, "not found: %s" % path)

    def _send_attachment(self, name):
        info = self.store.attachment_file(name) if NAME_RE.fullmatch(name) else None
        if info is None:
            raise _error(404, "no such attachment")
        path, ctype = info
        try:
            data = path.read_bytes()
        except OSError:
            raise _error(404, "no such attachment") from None
        self._send(200, data, ctype, [("X-Content-Type-Options", "nosniff"),
                                      ("Content-Security-Policy", "default-src 'none'; sandbox")])

    # ---- replies

    def _send_json(self, status, payload, close=False, headers=()):
        headers = list(headers)
        if self.limit_headers and not any(k.startswith("X-Limit") for k, _ in headers):
            headers += self.store.limit_headers()
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
        """The declared body length, refusing a too large one (or a chunked body) unread."""
        te = self.headers.get("Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if te is not None:
            if te.strip().lower() != "chunked":
                raise _error(501, "Transfer-Encoding %r is not supported" % te, close=True)
            raise _error(411, "Content-Length is required (a chunked request body is not "
                              "supported)", close=True)
        if not lengths:
            if self.command in ("POST", "PUT"):
                raise _error(411, "Content-Length is required", close=True)
            return 0
        if len(set(v.strip() for v in lengths)) != 1 or not lengths[0].strip().isdigit():
            raise _error(400, "Content-Length is invalid", close=True)
        length = int(lengths[0])
        if length > cap:
            raise _error(413, "request body too large (%d bytes, at most %d)" % (length, cap),
                         close=True)
        return length

    def _chunks(self, cap):
        """Yields the request body in pieces as it arrives."""
        length = self._check_length(cap)
        left = length
        try:
            while left:
                data = self.rfile.read1(min(65536, left))
                if not data:
                    raise _error(400, "request body incomplete: %d of %d bytes arrived"
                                 % (length - left, length), close=True)
                left -= len(data)
                yield data
        except TimeoutError:
            raise _error(408, "timed out waiting for the request body", close=True) from None
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
        want = min(max(1, length // 2), 65536) if length else 0
        got = 0
        while got < want:
            data = self.rfile.read1(min(65536, want - got))
            if not data:
                break
            got += len(data)
        raise Abort()

    def _read_control_json(self):
        raw = self._read_all(MAX_SMALL_BODY)
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _error(400, "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _error(400, "JSON body must be an object")
        return data

    def _read_form(self, cap, attachments):
        """Fields of a urlencoded, multipart or JSON body: (fields, part, encoding, errors).
        With `attachments`, the multipart file part named `attachment` is kept as a Part."""
        errs = rules.Errors()
        ctype, params = parse_options_header(self.headers.get("Content-Type", ""))
        if ctype.startswith(b"multipart/"):
            fields, part = self._read_multipart(params.get(b"boundary"), cap, attachments,
                                                errs)
            return fields, part, "multipart", errs
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
                raise _error(400, "body is not valid JSON") from None
            if not isinstance(data, dict):
                raise _error(400, "JSON body must be an object")
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
        raise _error(415, "unsupported Content-Type %r" % ctype.decode("latin-1"))

    def _read_multipart(self, boundary, cap, attachments, errs):
        if not boundary:
            self._discard_body(cap)
            raise _error(400, "multipart body without a boundary")
        fields = {}
        parts = []
        ended = []

        def text(raw, name):
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                errs.add(name, "%s is not valid UTF-8" % name)
                return None

        def on_field(field):
            name = field.field_name.decode("utf-8", "replace")
            value = field.value or b""
            if name == "attachment" and attachments and field.content_type is not None:
                # a file part without a filename: kept so that the rules can say so
                parts.append(rules.Part(None, field.content_type, value))
                return
            value = text(value, name)
            if value is not None:
                fields[name] = value

        def on_file(file):
            name = file.field_name.decode("utf-8", "replace")
            file.file_object.seek(0)
            data = file.file_object.read()
            file.close()
            if name != "attachment" or not attachments:
                return  # a file part the API does not know: ignored
            fname = file.file_name or b""
            try:
                fname = fname.decode("utf-8")
            except UnicodeDecodeError:
                fname = fname.decode("latin-1")
            parts.append(rules.Part(fname, file.content_type, data))

        parser = FormParser("multipart/form-data", on_field, on_file,
                            on_end=lambda: ended.append(True), boundary=boundary,
                            config={"MAX_HEADER_COUNT": 16, "MAX_MEMORY_FILE_SIZE": MAX_BODY,
                                    "MAX_BODY_SIZE": MAX_BODY})
        try:
            for chunk in self._chunks(cap):
                if ended:
                    continue  # epilogue after the closing boundary
                parser.write(chunk)
            parser.finalize()
        except FormParserError as e:
            raise _error(400, "multipart body is malformed: %s" % e,
                         close=not self.body_done) from None
        if not ended:
            raise _error(400, "multipart body is malformed or incomplete (no closing "
                              "boundary)", close=not self.body_done)
        if len(parts) > 1:
            errs.add("attachment", "only one attachment per message")
        return fields, parts[0] if parts else None

    # ---- endpoints

    def _token_only(self, token):
        errs = rules.token_errors(token, self.app.tokens)
        if errs:
            raise HttpError(400, errs.payload(str(uuid.uuid4())))

    def _ep_messages(self):
        app = self.app
        request_id = str(uuid.uuid4())
        fields, part, encoding, body_errs = self._read_form(self._body_cap("/1/messages.json"),
                                                            attachments=True)
        fields = rules.drop_empty(fields)
        decrypted = e2e.decrypt_fields(app.encryption_key, fields)  # {} unless encrypted=1
        plaintext = {name: d.text for name, d in decrypted.items() if d.ok}
        errs, attachment, priority = rules.validate_message(fields, part, app.tokens, app.users,
                                                            plaintext)
        for key in body_errs.keys:
            errs.keys[key] = "invalid"
        errs.texts[:0] = [t for t in body_errs.texts if t not in errs.texts]
        if errs:
            return Reply(400, errs.payload(request_id))
        if not self.store.take_quota():
            return Reply(429, {"status": 0, "errors": ["quota exceeded"], "request": request_id})
        transport = {
            "http_version": self.request_version,
            "content_length": self.headers.get("Content-Length"),
            "transfer_encoding": self.headers.get("Transfer-Encoding"),
            "connection": self.headers.get("Connection"),
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "connection_id": self.conn_id, "request_on_connection": self.conn_requests,
        }
        receipt = self.store.add_message(fields, attachment, encoding, request_id, transport,
                                         emergency=priority == 2, decrypted=decrypted)
        payload = {"status": 1, "request": request_id}
        if receipt:
            payload["receipt"] = receipt
        return Reply(200, payload)

    def _receipt_missing(self):
        return HttpError(404, {"receipt": "not found", "status": 0, "errors": [
            "receipt not found; may be invalid or expired"]})

    def _get_token(self):
        """The token of a GET: in the query, or in a form body (pushover-complete sends its
        GETs so; Pushover takes them)."""
        fields, _, _, _ = self._read_form(MAX_SMALL_BODY, attachments=False)
        return self.query.get("token") or fields.get("token", "")

    def _ep_receipt(self, receipt):
        token = self._get_token()
        self._token_only(token)
        try:
            state = self.store.receipt_state(receipt, token)
        except ReceiptNotFound:
            raise self._receipt_missing() from None
        state.update(status=1, request=str(uuid.uuid4()))
        return Reply(200, state)

    def _ep_cancel(self, receipt):
        fields, _, _, _ = self._read_form(MAX_SMALL_BODY, attachments=False)
        token = fields.get("token", self.query.get("token", ""))
        self._token_only(token)
        try:
            self.store.cancel(receipt, token)
        except ReceiptNotFound:
            raise self._receipt_missing() from None
        return Reply(200, {"status": 1})

    def _ep_cancel_by_tag(self, tag):
        fields, _, _, _ = self._read_form(MAX_SMALL_BODY, attachments=False)
        token = fields.get("token", self.query.get("token", ""))
        self._token_only(token)
        count = self.store.cancel_by_tag(unquote(tag), token)
        return Reply(200, {"status": 1, "canceled": count})

    def _ep_validate(self):
        fields, _, _, _ = self._read_form(MAX_SMALL_BODY, attachments=False)
        errs = rules.validate_user(fields, self.app.tokens, self.app.users, self.app.devices)
        if errs:
            return Reply(400, errs.payload(str(uuid.uuid4())))
        return Reply(200, {"status": 1, "group": 0, "devices": list(self.app.devices),
                           "licenses": list(LICENSES)})

    def _ep_sounds(self):
        self._token_only(self._get_token())
        return Reply(200, {"status": 1, "sounds": dict(rules.SOUNDS)})

    def _ep_limits(self):
        self._token_only(self._get_token())
        limit, remaining, reset = self.store.quota_state()
        return Reply(200, {"status": 1, "limit": limit, "remaining": remaining, "reset": reset})

    def _ep_glances(self):
        fields, _, _, _ = self._read_form(MAX_SMALL_BODY, attachments=False)
        fields = rules.drop_empty(fields, keep=("token", "user"))
        errs = rules.validate_glance(fields, self.app.tokens, self.app.users)
        request_id = str(uuid.uuid4())
        if errs:
            return Reply(400, errs.payload(request_id))
        self.store.add_glance(fields, request_id)
        return Reply(200, {"status": 1, "request": request_id})


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 32

    def server_bind(self):
        TCPServer.server_bind(self)  # no reverse DNS lookup (HTTPServer.server_bind does one)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    def handle_error(self, request, client_address):
        self.app._log("error while serving %s: %s" % (client_address[0], sys.exc_info()[1]))
