"""HTTP through the firmware's `requests` (alias `urequests`); replies turned into a Result or
a typed error, and the one function that says what a failure means (classify).

The transport hands `requests` a generator plus an exact-case "Content-Length" header, which
every generation of it streams as-is (no chunked encoding). It reads at most `reply_cap` bytes
of a reply, closes the response on every path and never follows a redirect: a Location header ends the
request, because a redirect would resend (or drop) a body that was already streamed.
"""

import json

from micropython import const

from .compat import unix_time
from .errors import (
    PushoverError,
    QuotaError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
)

REPLY_CAP = const(4096)
_MAX_TRAILERS = const(16)
_EIO = const(5)
_CONN_EOF = const(-0x7280)  # MBEDTLS_ERR_SSL_CONN_EOF
_WANTED = ("content-length", "transfer-encoding", "x-limit-app-limit", "x-limit-app-remaining",
           "x-limit-app-reset")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Result:
    """A successful reply: `request` id, `receipt` (priority 2), quota figures, all JSON `data`."""

    def __init__(self, http_status, data, headers):
        self.http_status = http_status
        self.data = data
        self.request = data.get("request")
        self.receipt = data.get("receipt")
        self.limit = _int_or_none(headers.get("x-limit-app-limit"))
        self.remaining = _int_or_none(headers.get("x-limit-app-remaining"))
        self.reset = _int_or_none(headers.get("x-limit-app-reset"))

    def __repr__(self):
        return "<Result request=%s receipt=%s remaining=%s>" % (
            self.request, self.receipt, self.remaining)


class _Redirected(OSError):
    """Raised from the header callback so that requests closes its socket and stops."""


def scrub(text, secrets):
    """`text` with every secret (token, user key) replaced by '***'."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _tls_refused(e):
    """Whether `e` is a TLS failure that resending to the same server cannot mend: a refused
    certificate (MicroPython's `tls` raises ValueError with mbedTLS's text, older firmware an
    OSError naming X509; CPython's `ssl` an SSLCertVerificationError) or a failed handshake."""
    name = type(e).__name__
    if "Certificate" in name:
        return True
    text = str(e)
    if isinstance(e, ValueError):
        return "certificate" in text or "(CN)" in text
    if "SSL" in name:  # CPython: an end of file mid-handshake is a dropped connection
        return "EOF" not in name and "ZeroReturn" not in name
    # MicroPython: mbedTLS's codes are negative (errno values are not); its CONN_EOF is a
    # dropped connection, not a refusal
    code = e.args[0] if e.args else None
    return isinstance(code, int) and code < 0 and code != _CONN_EOF


def classify(e, sent, length, secrets=(), what="network error"):
    """The one place that says what a failure means, for every transport: the exception `e`
    raised while `sent` of the request's `length` body bytes had gone out -> the PushoverError
    to raise. TLS refused: TLSError. The whole body out: UnknownOutcomeError (it may have
    been delivered). Less: TemporaryError (the server cannot have acted on it)."""
    if isinstance(e, PushoverError):
        return e  # already says what happened (a bad source, a redirect, a refused clock)
    why = scrub(type(e).__name__ + " " + str(e), secrets)
    if _tls_refused(e):
        from .errors import TLSError

        return TLSError("TLS failed: " + why)
    if length and sent >= length:
        return UnknownOutcomeError("the message was sent but no reply came (" + why
                                   + "); it may have been delivered")
    return TemporaryError(what + " before the request was sent: " + why)


def _read_upto(raw, want):
    """Up to `want` bytes from `raw`, fewer only at its end (a de-chunked stream of requests
    1.1 returns at most one chunk per read)."""
    body = b""
    while len(body) < want:
        data = raw.read(want - len(body))
        if not data:
            break
        body += data
    return body


def read_body(raw, headers, cap=REPLY_CAP, dechunk=None):
    """At most `cap` bytes of the reply body; raises ValueError when the reply is larger.

    Decodes a chunked reply when `dechunk` (default: the headers say chunked) and reads a
    Content-Length or read-until-close reply with read(n) only: requests 1.1 hands over an
    already de-chunked stream that has nothing but read(n), readinto() and close().
    """
    if dechunk is None:
        dechunk = "chunked" in headers.get("transfer-encoding", "").lower()
    if dechunk:
        body = b""
        size = int(raw.readline().split(b";")[0].strip(), 16)
        while size:
            if len(body) + size > cap:
                raise ValueError("reply larger than " + str(cap) + " bytes")
            body += _read_upto(raw, size)
            raw.readline()  # the CRLF after the chunk
            size = int(raw.readline().split(b";")[0].strip(), 16)
        # trailer lines up to the empty line that ends the body: left unread, they would
        # be taken for the next reply on a kept-alive connection
        for _ in range(_MAX_TRAILERS):
            line = raw.readline()
            if not line or line == b"\r\n" or line == b"\n":
                return body
        raise ValueError("too many trailer lines after a chunked reply")
    length = None if "chunked" in headers.get("transfer-encoding", "").lower() else \
        _int_or_none(headers.get("content-length"))
    body = _read_upto(raw, cap + 1 if length is None else min(length, cap + 1))
    if len(body) > cap:
        raise ValueError("reply larger than " + str(cap) + " bytes")
    return body


def firmware_requests():
    """The firmware's HTTP client: `requests` (its name in micropython-lib and on the unix
    port), else the `urequests` alias of older firmware."""
    try:
        import requests

        return requests
    except ImportError:
        pass
    try:
        import urequests

        return urequests
    except ImportError:
        raise PushoverError("no requests module on this board: `mip install requests`, or "
                            "pass transport=SocketTransport()") from None


def _collect():
    import gc

    gc.collect()


class _Counted:
    """The body handed to requests: the form's chunks, counting the bytes that went out. A
    bad source (a FieldError) becomes an OSError, the one exception on which requests closes
    its socket; `error` keeps the real one."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.sent = 0
        self.error = None

    def __iter__(self):
        try:
            for chunk in self.chunks:
                yield chunk
                self.sent += len(chunk)
        except PushoverError as e:
            self.error = e
            raise OSError(_EIO) from None


class UrequestsTransport:
    """Sends through the firmware's `requests` (or an object with the same `request()`),
    found when the transport is made: `requests` first, then `urequests`."""

    def __init__(self, module=None, reply_cap=REPLY_CAP, collect=None):
        self.module = module or firmware_requests()
        self.reply_cap = reply_cap
        self.collect = _collect if collect is None else collect

    def request(self, method, url, form=None, timeout=None, secrets=()):
        """-> (HTTP status, {lower-case header: value}, body bytes), or a PushoverError.

        `secrets` are scrubbed from any text that reaches an error.
        """
        got = {}

        def on_header(line, _unused):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"location":
                raise _Redirected("redirect")
            name = name.decode()
            if name in _WANTED:
                got[name] = value.strip().decode()

        headers = {}
        body = data = None
        length = 0
        if form is not None:
            headers["Content-Type"] = form.content_type
            headers["Content-Length"] = str(form.length)
            length = form.length
            body = _Counted(form.chunks())
            data = iter(body)
        resp = None
        try:
            # the ESP32 stubs type parse_headers as a bool; every generation of requests also
            # calls a callable with each header line, and that is what is used here
            resp = self.module.request(method, url, data=data, headers=headers,
                                       timeout=timeout,
                                       parse_headers=on_header)  # pyright: ignore[reportArgumentType]
            status = resp.status_code
            raw = resp.raw
            try:
                # requests 1.1 de-chunks and hands over a stream without readline(); older
                # ones pass a chunked body through the socket when the header's case differs
                reply = read_body(raw, got, self.reply_cap,
                                  "chunked" in got.get("transfer-encoding", "").lower()
                                  and hasattr(raw, "readline"))
            except Exception as e:  # a broken reply: after a 2xx, the outcome is unknown
                if 200 <= status < 300:
                    raise UnknownOutcomeError("accepted, but the reply could not be read: "
                                              + scrub(e, secrets)) from None
                reply = b""
            return status, got, reply
        except _Redirected:
            raise RejectedError("the server answered with a redirect, which is not followed; "
                                "check api_url") from None
        except Exception as e:
            if resp is None and not isinstance(e, OSError):
                # requests closes its socket only on an OSError: after a ValueError (a chunked
                # reply before requests 1.1, a garbled status line) the socket is unreachable
                # but open until a collection runs its finaliser; a board has few sockets
                self.collect()
            if body is not None:
                e = body.error or e
            raise classify(e, 0 if body is None else body.sent, length, secrets) from None
        finally:
            if resp is not None:
                resp.close()
            if body is not None:
                data.close()  # pyright: ignore[reportOptionalMemberAccess] (set with body)
                body.chunks.close()


def parse_reply(status, headers, body, secrets=()):
    """A Result for a success, else raise the error that says whether a retry can help."""
    try:
        data = json.loads(body.decode() if body else "null")
    except (ValueError, UnicodeError):
        data = None
    if not isinstance(data, dict):
        data = None
    if status == 429:
        reset = _int_or_none(headers.get("x-limit-app-reset"))
        wait = None if reset is None else max(reset - unix_time(), 0)
        raise QuotaError("quota exhausted (HTTP 429); it renews at Unix time " + str(reset),
                         reset, wait)
    if status >= 500:
        raise TemporaryError("server error (HTTP " + str(status) + "); retry after 5 s", status)
    if data is None:
        if 200 <= status < 300:
            raise UnknownOutcomeError("HTTP " + str(status) + " but the reply is not JSON; "
                                      "the message may have been delivered")
        raise RejectedError("HTTP " + str(status) + " with a reply that is not JSON", status)
    if 200 <= status < 300 and data.get("status") == 1:
        return Result(status, data, headers)
    errors = data.get("errors")
    if not isinstance(errors, list):
        errors = []
    errors = [scrub(e, secrets) for e in errors]
    fields = {}
    for key in data:
        if key not in ("status", "request", "errors"):
            fields[key] = scrub(data[key], secrets)
    msg = "rejected (HTTP " + str(status) + "): " + ("; ".join(errors) or "no reason given")
    raise RejectedError(msg, status, errors, fields, data.get("request"))
