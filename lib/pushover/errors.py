"""Every error the library raises, and whether a retry can help.

All derive from PushoverError. It derives from ValueError because MicroPython lets an exception
class have only one built-in base: this is the one way for "every error shares one base" and
"validation errors are ValueErrors" to both hold on the board and on the host.

`retry` says what a caller may do: False (fix the input first), True (resend, not before
`retry_after` seconds), None (the outcome is unknown: resending may deliver the message twice).
What an error carries beyond its text (http_status, errors, fields, request, reset,
retry_after) is set on it where it is made (outcome.py) and otherwise is the class's value.
"""


class PushoverError(ValueError):
    retry = False
    retry_after = None
    http_status = None


class FieldError(PushoverError):
    """A field breaks a rule of the API; raised before any network I/O. `problem` is the text,
    or the number of one in texts.py (filled in with `what`, else `limit`)."""

    def __init__(self, field, problem, limit=None, size=None, what=None):
        if not isinstance(problem, str):
            try:
                from .texts import problem_text

                problem = problem_text(problem, limit if what is None else what)
            except MemoryError:  # too little heap to load the texts: the rule's number
                problem = "rule " + str(problem)
        super().__init__(field + ": " + problem + ("" if size is None else
                                                   " (got " + str(size) + ")"))
        self.field = field
        self.limit = limit
        self.size = size


class RejectedError(PushoverError):
    """The server refused the request (4xx or status != 1): resending it unchanged cannot help.
    `errors` (the server's texts), `fields` (field -> what was wrong), `request` (its id)."""

    errors = []
    fields = {}
    request = None


class QuotaError(PushoverError):
    """HTTP 429: the monthly quota is spent. `reset` is the Unix time it renews (or None)."""

    retry = True
    reset = None


class TemporaryError(PushoverError):
    """5xx, a refused or dropped connection before the body was sent: resend after 5 s."""

    retry = True
    retry_after = 5


class UnknownOutcomeError(PushoverError):
    """The whole body went out but no usable reply came back: it may have been delivered."""

    retry = None
    retry_after = 5


class TLSError(PushoverError):
    """The server's certificate could not be verified (or the clock is unset): resending to
    the same server cannot help until the trust roots, the host name or the clock are fixed."""
