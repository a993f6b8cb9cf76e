"""HTTP through the firmware's `urequests`, and replies turned into a Result or a typed error.

The transport hands `urequests` a generator plus an exact-case "Content-Length" header, which
the firmware streams as-is (no chunked encoding). It reads at most `reply_cap` bytes of a reply,
closes the response on every path and never follows a redirect: a Location header ends the
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
    """Raised from the header callback so that urequests closes its socket and stops."""


def scrub(text, secrets):
    """`text` with every secret (token, user key) replaced by '***'."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def read_body(raw, headers, cap=REPLY_CAP):
    """At most `cap` bytes of the reply body; raises ValueError when the reply is larger.

    Handles Content-Length, read-until-close and chunked replies. Newer `requests` may decode a
    chunked body itself, so a first line that is not a hex chunk size is taken as the body.
    """
    if "chunked" in headers.get("transfer-encoding", "").lower():
        line = raw.readline()
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            body = line + raw.read(cap + 1 - len(line))
        else:
            body = b""
            while size:
                if len(body) + size > cap:
                    raise ValueError("reply larger than " + str(cap) + " bytes")
                body += raw.read(size)
                raw.readline()  # the CRLF after the chunk
                size = int(raw.readline().split(b";")[0].strip(), 16)
            # trailer lines up to the empty line that ends the body: left unread, they would
            # be taken for the next reply on a kept-alive connection
            for _ in range(_MAX_TRAILERS):
                line = raw.readline()
                if not line or line == b"\r\n" or line == b"\n":
                    return body
            raise ValueError("too many trailer lines after a chunked reply")
    else:
        length = _int_or_none(headers.get("content-length"))
        want = cap + 1 if length is None else min(length, cap + 1)
        body = raw.read(want) if want else b""
    if len(body) > cap:
        raise ValueError("reply larger than " + str(cap) + " bytes")
    return body


class UrequestsTransport:
    """Sends through the firmware's `urequests` (or an object with the same `request()`)."""

    def __init__(self, module=None, reply_cap=REPLY_CAP):
        self.module = module
        self.reply_cap = reply_cap

    def request(self, method, url, form=None, timeout=None, secrets=()):
        """-> (HTTP status, {lower-case header: value}, body bytes), or a PushoverError.

        `secrets` are scrubbed from any text that reaches an error.
        """
        mod = self.module
        if mod is None:
            import urequests as mod
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
        chunks = None
        if form is not None:
            headers["Content-Type"] = form.content_type
            headers["Content-Length"] = str(form.length)
            chunks = form.chunks()
        resp = None
        try:
            resp = mod.request(method, url, data=chunks, headers=headers, timeout=timeout,
                               parse_headers=on_header)
            status = resp.status_code
            try:
                body = read_body(resp.raw, got, self.reply_cap)
            except (OSError, ValueError) as e:
                if 200 <= status < 300:
                    raise UnknownOutcomeError("accepted, but the reply could not be read: "
                                              + scrub(e, secrets)) from None
                body = b""
            return status, got, body
        except PushoverError:
            raise  # already says what happened (a PushoverError is also a ValueError)
        except _Redirected:
            raise RejectedError("the server answered with a redirect, which is not followed; "
                                "check api_url") from None
        except (OSError, ValueError, NotImplementedError) as e:
            if form is not None and form.error is not None:
                raise form.error from None
            why = scrub(type(e).__name__ + " " + str(e), secrets)
            if form is not None and form.sent:
                raise UnknownOutcomeError("the message was sent but no reply came (" + why
                                          + "); it may have been delivered") from None
            raise TemporaryError("network error before the request was sent: " + why) from None
        finally:
            if resp is not None:
                resp.close()
            if chunks is not None:
                chunks.close()


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
