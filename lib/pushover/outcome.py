"""What a failure means, decided in one place for every transport, and loaded only when
something fails (the socket already closed, where the transport can): an exception and how
much of the body went out (classify), or a reply that is not a success (refused).

- TLS refused (a certificate, a handshake): TLSError, never resent.
- The whole body out and no usable reply: UnknownOutcomeError (it may have been delivered).
- Less than the whole body: TemporaryError (the server cannot have acted on it).
- 429: QuotaError with the reset; 5xx: TemporaryError; 4xx or status != 1: RejectedError.
"""

from micropython import const

from .errors import (
    PushoverError,
    QuotaError,
    RejectedError,
    TemporaryError,
    TLSError,
    UnknownOutcomeError,
)
from .http import REDIRECT, _int_or_none

_CONN_EOF = const(-0x7280)  # MBEDTLS_ERR_SSL_CONN_EOF
_ALLOC_FAILED = const(-0x7F00)  # MBEDTLS_ERR_SSL_ALLOC_FAILED


def scrub(text, secrets):
    """`text` with every secret (token, user key) replaced by '***' (here, not in http.py:
    only a failure has a text that can hold one)."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def redirected():
    return RejectedError("the server answered with a redirect, which is not followed; "
                         "check api_url")


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
    # dropped connection and ALLOC_FAILED a heap too cut up for the moment, not refusals
    code = e.args[0] if e.args else None
    return isinstance(code, int) and code < 0 and code != _CONN_EOF and code != _ALLOC_FAILED


def classify(e, sent, length, secrets=(), what="network error"):
    """The exception `e`, raised while `sent` of the request's `length` body bytes had gone
    out (length 0: a request without a body, which nothing can deliver twice) -> the
    PushoverError to raise."""
    if isinstance(e, PushoverError):
        return e  # already says what happened (a bad source, a refused clock)
    if isinstance(e, OSError) and e.args and e.args[0] == REDIRECT:
        return redirected()
    why = scrub(type(e).__name__ + " " + str(e), secrets)
    if not sent and _tls_refused(e):  # a refusal comes before a byte of the request is out
        return TLSError("TLS failed: " + why)
    if length and sent >= length:
        return UnknownOutcomeError("the message was sent but no usable reply came (" + why
                                   + "); it may have been delivered")
    # a request without a body (a GET) may have gone out: say only what failed
    return TemporaryError(what + (" before the request was sent: " if length else ": ") + why)


def unreadable(e, secrets):
    """The error of a 2xx reply whose body could not be read (too large, cut short, badly
    chunked): the server accepted the request, so it may have been delivered."""
    return UnknownOutcomeError("accepted, but the reply could not be read: " + scrub(e, secrets))


def _with(error, **info):
    for name in info:
        setattr(error, name, info[name])
    return error


def refused(status, headers, data, secrets=()):
    """The error for a reply that is not a success: `data` is its JSON object, or None."""
    if status == 429:
        from .compat import unix_time

        reset = _int_or_none(headers.get("x-limit-app-reset"))
        return _with(QuotaError("quota exhausted (HTTP 429); it renews at Unix time "
                                + str(reset)), reset=reset,
                     retry_after=None if reset is None else max(reset - unix_time(), 0))
    if status >= 500:
        return _with(TemporaryError("server error (HTTP " + str(status) + "); retry after 5 s"),
                     http_status=status)
    if data is None:
        if 200 <= status < 300:
            return UnknownOutcomeError("HTTP " + str(status) + " but the reply is not JSON; "
                                       "the message may have been delivered")
        return _with(RejectedError("HTTP " + str(status) + " with a reply that is not JSON"),
                     http_status=status)
    errors = data.get("errors")
    if not isinstance(errors, list):
        errors = []
    errors = [scrub(e, secrets) for e in errors]
    fields = {}
    for key in data:
        if key not in ("status", "request", "errors"):
            fields[key] = scrub(data[key], secrets)
    return _with(RejectedError("rejected (HTTP " + str(status) + "): "
                               + ("; ".join(errors) or "no reason given")),
                 http_status=status, errors=errors, fields=fields, request=data.get("request"))
