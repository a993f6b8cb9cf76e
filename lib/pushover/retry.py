"""Resending by Pushover's rules, as a layer over `Pushover.send()` (which tries once).

- FieldError, RejectedError (4xx): never resent: the same request would fail the same way.
- TemporaryError (5xx, network): resent after 5 s at the earliest, then 10, 20, ... up to
  `max_delay`, while attempts and the `deadline` allow.
- QuotaError (429): resent after the quota's reset if that falls within the deadline; else
  raised at once.
- UnknownOutcomeError (the body went out, no reply): `on_unknown="resend"` (default) resends,
  so an alert may arrive twice but is not lost; `"raise"` gives up so it never arrives twice.

    from pushover.retry import send
    send(po, "Water!", priority=1, attempts=5, deadline=300)
"""

import time

from micropython import const

from .compat import check_seconds, ticks_diff, ticks_ms
from .errors import PushoverError, QuotaError, TemporaryError, UnknownOutcomeError
from .fields import check_int

_MIN_DELAY = const(5)


def delays(attempts, first=_MIN_DELAY, max_delay=300):
    """The waits between attempts: 5, 10, 20, ... capped at max_delay (never under 5)."""
    delay = max(first, _MIN_DELAY)
    for _ in range(attempts - 1):
        yield min(delay, max(max_delay, _MIN_DELAY))
        delay *= 2


def start(po, message, attempts, deadline, max_delay, on_unknown, clock, fields):
    """What a send with resends begins with, before any I/O: the checked form (bad input
    fails here, once, and so do settings that could not work), the planned waits, and a
    function giving the seconds elapsed."""
    if on_unknown not in ("resend", "raise"):
        from .errors import FieldError

        raise FieldError("on_unknown", "must be 'resend' or 'raise'")
    check_int("attempts", attempts, 1)
    check_seconds("deadline", deadline)
    check_seconds("max_delay", max_delay)
    form = po.form(message, **fields)
    begun = ticks_ms() if clock is None else clock()

    def elapsed():
        if clock is None:
            return ticks_diff(ticks_ms(), begun) / 1000
        return clock() - begun
    return form, delays(attempts, _MIN_DELAY, max_delay), elapsed


def wait_after(error, form, on_unknown, waits, elapsed, deadline):
    """The seconds to wait before resending after `error`, by the rules above; raises
    `error` when it must not (or can no longer) be resent."""
    if isinstance(error, UnknownOutcomeError):
        if on_unknown == "raise" or not form.restartable:
            raise error
        wait = error.retry_after
    elif isinstance(error, QuotaError):
        wait = error.retry_after
        if wait is None:
            raise error
    elif isinstance(error, TemporaryError):
        wait = None
    else:  # refused, TLS, a bad field: resending cannot help
        raise error
    planned = next(waits, None)
    if planned is None:
        raise error
    wait = planned if wait is None else max(wait, planned)
    if elapsed + wait > deadline:
        raise error
    return wait


def send(po, message, attempts=5, deadline=600, max_delay=300, on_unknown="resend",
         sleep=time.sleep, clock=None, **fields):
    """Send with resends by the rules above; returns the Result or raises the last error.

    The deadline is kept on the tick counter, which NTP does not move (a verified send may set
    the clock from 2000 to today in the middle); `clock` (seconds) replaces it in tests."""
    form, waits, elapsed = start(po, message, attempts, deadline, max_delay, on_unknown, clock,
                                 fields)
    while True:
        try:
            return po.request("POST", "messages.json", form)
        except PushoverError as e:
            wait = wait_after(e, form, on_unknown, waits, elapsed(), deadline)
        sleep(wait)
