"""Host-only stand-in for MicroPython's `ntptime` (never copied to a board). The host's clock
is already right, so settime() only counts its calls (CALLS, for tests)."""

import time as _time

host = "ntp-server"
timeout = 1
CALLS = []


def time():
    return int(_time.time())


def settime():
    CALLS.append(_time.time())
