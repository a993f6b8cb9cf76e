"""Time, where the ports and CPython differ, handled in one place: the epoch (some ports count
from 2000) and the tick counter; and what a setting in seconds may be. Not loaded by
`import pushover`: a timestamp, a 429 reply, receipts, retries and storm control load it."""

import time

from micropython import const

# Some ports count time from 2000-01-01; the API always wants Unix time.
_Y2K = const(946684800)
EPOCH_OFFSET = _Y2K if time.gmtime(0)[0] == 2000 else 0


def check_seconds(name, value, low=0.0, high=None):
    """A setting in seconds: an int or a finite float from `low` (to `high`), else a FieldError
    that names it, when the object is made rather than as a TypeError once a send failed."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not value - value == 0 or value < low or (high is not None and value > high)):
        from .errors import FieldError

        raise FieldError(name, "must be a number of seconds from %g" % low
                         + (" up" if high is None else " to %g" % high))
    return value


def unix_time(board_time=None):
    """The board's own time (time.time(), or a value from it) as Unix time."""
    if board_time is None:
        board_time = time.time()
    return int(board_time) + EPOCH_OFFSET


# The fallbacks below run on CPython only; the type checker reads this file against the
# MicroPython stubs, where time has no monotonic() and ticks_* have stricter signatures.
try:
    from time import sleep_ms, ticks_diff, ticks_ms  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython
    def ticks_ms():
        return int(time.monotonic() * 1000)  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_diff(a, b):
        return a - b

    def sleep_ms(ms):
        time.sleep(ms / 1000)
