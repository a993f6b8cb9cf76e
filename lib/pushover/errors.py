"""Every error the library raises, and whether a retry can help.

All derive from PushoverError. It derives from ValueError because MicroPython lets an exception
class have only one built-in base: this is the one way for "every error shares one base" and
"validation errors are ValueErrors" to both hold on the board and on the host.

`retry` says what a caller may do: False (fix the input first), True (resend, not before
`retry_after` seconds), None (the outcome is unknown: resending may deliver the message twice).
"""


class PushoverError(ValueError):
    retry = False
    retry_after = None


class FieldError(PushoverError):
    """A field breaks a rule of the API; raised before any network I/O."""

    def __init__(self, field, problem, limit=None, size=None):
        msg = field + ": " + problem
        if size is not None:
            msg += " (got " + str(size) + ")"
        super().__init__(msg)
        self.field = field
        self.limit = limit
        self.size = size


class RejectedError(PushoverError):
    """The server refused the request (4xx or status != 1): resending it unchanged cannot help."""

    def __init__(self, msg, http_status=None, errors=None, fields=None, request=None):
        super().__init__(msg)
        self.http_status = http_status
        self.errors = errors or []
        self.fields = fields or {}
        self.request = request


class QuotaError(PushoverError):
    """HTTP 429: the monthly quota is spent. `reset` is the Unix time it renews (or None)."""

    retry = True

    def __init__(self, msg, reset=None, retry_after=None):
        super().__init__(msg)
        self.reset = reset
        self.retry_after = retry_after


class TemporaryError(PushoverError):
    """5xx, a refused or dropped connection before the body was sent: resend after 5 s."""

    retry = True
    retry_after = 5

    def __init__(self, msg, http_status=None):
        super().__init__(msg)
        self.http_status = http_status


class UnknownOutcomeError(PushoverError):
    """The whole body went out but no usable reply came back: it may have been delivered."""

    retry = None
    retry_after = 5


class TLSError(PushoverError):
    """The server's certificate could not be verified (or the clock is unset): resending to
    the same server cannot help until the trust roots, the host name or the clock are fixed."""
