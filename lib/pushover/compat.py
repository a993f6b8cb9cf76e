"""The few things that differ between the ports and CPython, handled in one place."""

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


def random_hex(nbytes):
    """`nbytes` random bytes as lowercase hex, from the best source the port has."""
    try:
        from os import urandom

        raw = urandom(nbytes)
    except (ImportError, AttributeError, OSError):
        from random import getrandbits

        raw = bytes(getrandbits(8) for _ in range(nbytes))
    return "".join("%02x" % b for b in raw)


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
