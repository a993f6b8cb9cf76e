"""The few things that differ between the ports and CPython, handled in one place: the epoch
(some ports count from 2000) and the tick counter. Not loaded by `import pushover`: a
timestamp, a 429 reply, receipts and retries load it."""

import time

from micropython import const

# Some ports count time from 2000-01-01; the API always wants Unix time.
_Y2K = const(946684800)
EPOCH_OFFSET = _Y2K if time.gmtime(0)[0] == 2000 else 0


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
