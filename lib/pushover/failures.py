"""The errors only a failed request raises, loaded on the first use of one (errors.py says
why). Reached as pushover.TemporaryError or pushover.errors.TemporaryError alike."""

from .errors import PushoverError


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
