"""Host-only stand-in for MicroPython's `machine` (never copied to a board): just enough for
the examples to run on CPython.

Host-only hooks, for tests: LEVELS {pin: 0/1} is what Pin.value() reads, MICROVOLTS {pin: uV}
what ADC.read_uv() reads, SLEEPS the durations deepsleep() was asked for, RESET_CAUSE what
reset_cause() answers. deepsleep() returns here; on a board it never returns (the chip
resets and runs main.py again on waking). RTC memory lives in this module, so it survives
"deep sleep" between calls as it does on the chip.
"""

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

LEVELS = {}
MICROVOLTS = {}
SLEEPS = []
RESET_CAUSE = DEEPSLEEP_RESET
_rtc_memory = b""


def _pin_id(pin):
    return pin.id if isinstance(pin, Pin) else pin


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None, hold=None):
        self.id = id
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, hold=None):
        if pull == self.PULL_UP:
            LEVELS.setdefault(self.id, 1)
        if value is not None:
            LEVELS[self.id] = 1 if value else 0

    def value(self, level=None):
        if level is None:
            return LEVELS.get(self.id, 0)
        LEVELS[self.id] = 1 if level else 0
        return None

    __call__ = value

    def on(self):
        LEVELS[self.id] = 1

    def off(self):
        LEVELS[self.id] = 0

    def irq(self, handler=None, trigger=IRQ_RISING | IRQ_FALLING, **_kw):
        return None

    def __repr__(self):
        return "Pin(%s)" % self.id


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, *, atten=None):
        self.pin = _pin_id(pin)

    def atten(self, value):
        pass

    def read_uv(self):
        return MICROVOLTS.get(self.pin, 0)

    def read_u16(self):
        return min(MICROVOLTS.get(self.pin, 0) * 65535 // 3_300_000, 65535)


class RTC:
    def memory(self, data=None):
        global _rtc_memory
        if data is None:
            return _rtc_memory
        if len(data) > 2048:
            raise ValueError("RTC memory holds at most 2048 bytes")
        _rtc_memory = bytes(data)
        return None

    def datetime(self, *_args):
        import time

        t = time.gmtime()
        return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_wday, t.tm_hour, t.tm_min, t.tm_sec, 0)


def deepsleep(time_ms=None):
    """Records the sleep and, as on the chip, leaves Wi-Fi off for the next wake. As on the
    ESP32, any argument arms the timer (0 wakes at once): None means no timer."""
    import network

    if time_ms is not None and (not isinstance(time_ms, int) or time_ms < 0):
        raise ValueError("deepsleep takes a whole number of ms >= 0, or no argument")
    SLEEPS.append(time_ms)
    network.host_power_down()


def lightsleep(time_ms=None):
    SLEEPS.append(time_ms)


def reset_cause():
    return RESET_CAUSE


def reset():
    raise SystemExit("machine.reset() on the host")


def unique_id():
    return b"host\x00\x01"


def freq(*_args):
    return 240_000_000


def host_reset():
    """Host-only: forget pin levels, ADC values, sleeps and RTC memory (a power cycle)."""
    global _rtc_memory, RESET_CAUSE
    LEVELS.clear()
    MICROVOLTS.clear()
    SLEEPS.clear()
    _rtc_memory = b""
    RESET_CAUSE = DEEPSLEEP_RESET
