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

from .compat import ticks_diff, ticks_ms
from .errors import QuotaError, TemporaryError, UnknownOutcomeError

_MIN_DELAY = const(5)


def delays(attempts, first=_MIN_DELAY, max_delay=300):
    """The waits between attempts: 5, 10, 20, ... capped at max_delay (never under 5)."""
    delay = max(first, _MIN_DELAY)
    for _ in range(attempts - 1):
        yield min(delay, max(max_delay, _MIN_DELAY))
        delay *= 2


def send(po, message, attempts=5, deadline=600, max_delay=300, on_unknown="resend",
         sleep=time.sleep, clock=None, **fields):
    """Send with resends by the rules above; returns the Result or raises the last error.

    The deadline is kept on the tick counter, which NTP does not move (a verified send may set
    the clock from 2000 to today in the middle); `clock` (seconds) replaces it in tests."""
    if on_unknown not in ("resend", "raise"):
        from .errors import FieldError

        raise FieldError("on_unknown", "must be 'resend' or 'raise'")
    form = po.form(message, **fields)  # bad input fails here, once, before any I/O
    start = ticks_ms() if clock is None else clock()

    def elapsed():
        if clock is None:
            return ticks_diff(ticks_ms(), start) / 1000
        return clock() - start
    waits = delays(attempts, _MIN_DELAY, max_delay)
    while True:
        try:
            return po.request("POST", "messages.json", form)
        except UnknownOutcomeError as e:
            if on_unknown == "raise" or not form.restartable:
                raise
            error = e
            wait = e.retry_after
        except QuotaError as e:
            error = e
            wait = e.retry_after
            if wait is None:
                raise
        except TemporaryError as e:
            error = e
            wait = None
        planned = next(waits, None)
        if planned is None:
            raise error
        wait = planned if wait is None else max(wait, planned)
        if elapsed() + wait > deadline:
            raise error
        sleep(wait)
