"""Host-only stand-in for MicroPython's `esp32` module (never copied to a board).
MCU_CELSIUS is what the internal temperature sensor reads; WAKES records the deep-sleep wake
sources the examples arm, as (kind, pin, level)."""

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True

MCU_CELSIUS = 40.0
WAKES = []


def mcu_temperature():
    """Chip temperature in degrees C (ESP32-S2, S3, C3, C6)."""
    return round(MCU_CELSIUS)


def raw_temperature():
    """Chip temperature in degrees F (original ESP32)."""
    return round(MCU_CELSIUS * 1.8 + 32)


def _pin_id(pin):
    return getattr(pin, "id", pin)


def wake_on_ext0(pin, level):
    WAKES.append(("ext0", None if pin is None else _pin_id(pin), level))


def wake_on_ext1(pins, level):
    WAKES.append(("ext1", None if pins is None else [_pin_id(p) for p in pins], level))


def wake_on_gpio(pins, level):
    WAKES.append(("gpio", None if pins is None else [_pin_id(p) for p in pins], level))


def host_reset():
    global MCU_CELSIUS
    MCU_CELSIUS = 40.0
    WAKES.clear()
