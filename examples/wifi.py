"""The helper every example shares: settings, Wi-Fi with a timeout, the clock by NTP, a
Pushover client, and deep sleep that leaves a moment to interrupt the board.

On the host the board modules (network, ntptime, machine) come from tools/shim, where Wi-Fi
is already up and the clock already right: connect() and set_clock() then do nothing useful.
"""

import time

import machine
import network
from pushover import API_URL, Pushover
from pushover.compat import sleep_ms, ticks_diff, ticks_ms

_MIN_YEAR = 2024  # a clock before this was never set (the board starts in 2000)


def load_settings():
    """The user's /settings.py (made from examples/settings_template.py)."""
    try:
        import settings
    except ImportError:
        raise RuntimeError("no settings.py: copy examples/settings_template.py to settings.py, "
                           "fill it in, and deploy it") from None
    return settings


def load_board():
    """/board.py, the pins and buffer size of this board (boards/<name>/board.py)."""
    try:
        import board
    except ImportError:
        raise RuntimeError("no board.py: deploy with BOARD=<name> (see boards/)") from None
    return board


def connect(settings, timeout_s=20):
    """Join the Wi-Fi of `settings`; returns the WLAN or raises OSError after `timeout_s`."""
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if wlan.isconnected():
        return wlan
    wlan.connect(settings.WIFI_SSID, settings.WIFI_PASSWORD)
    start = ticks_ms()
    while not wlan.isconnected():
        if ticks_diff(ticks_ms(), start) > timeout_s * 1000:
            wlan.active(False)
            raise OSError("Wi-Fi: no connection to %r within %d s (status %s)"
                          % (settings.WIFI_SSID, timeout_s, wlan.status()))
        sleep_ms(200)
    return wlan


def clock_is_set():
    return time.gmtime()[0] >= _MIN_YEAR


def set_clock(retries=3):
    """Set the clock by NTP (needed for timestamps and for checking certificates); the RTC
    keeps it through deep sleep, so this only runs when the clock was never set."""
    if clock_is_set():
        return True
    import ntptime

    for attempt in range(retries):
        try:
            ntptime.settime()
            return True
        except (OSError, OverflowError, ValueError) as e:  # no reply, or a bad packet
            print("NTP attempt", attempt + 1, "failed:", e)
            sleep_ms(1000)
    return False


def online(settings, timeout_s=20):
    """Wi-Fi up and the clock set: what a send needs."""
    wlan = connect(settings, timeout_s)
    set_clock()
    return wlan


def client(settings, board):
    """A Pushover client from the settings, with the board's buffer size."""
    return Pushover(settings.PUSHOVER_TOKEN, settings.PUSHOVER_USER,
                    api_url=getattr(settings, "API_URL", None) or API_URL,
                    bufsize=board.BUFSIZE)


def deep_sleep(ms, grace_s=5):
    """Deep sleep for `ms`, or with `ms=None` until a wake pin fires (never returns on a
    board: it wakes into main.py again). Note machine.deepsleep(0) arms a zero timer and wakes
    at once: "no timer" is deepsleep() with no argument.

    After a power-on or reset button press (not a deep-sleep wake) it first waits `grace_s`
    seconds, so that mpremote or Ctrl-C can still reach a board that would otherwise sleep
    again at once.
    """
    if machine.reset_cause() != machine.DEEPSLEEP_RESET and grace_s:
        print("deep sleep in", grace_s, "s; Ctrl-C now to stay awake")
        time.sleep(grace_s)
    if ms is None:
        machine.deepsleep()
    else:
        machine.deepsleep(ms)


def arm_wake(board, pin, level):
    """Let `pin` reaching `level` (0/1) wake the chip from deep sleep, as the board can:
    ext0 (ESP32, S3), GPIO wake (C3), or not at all (then only the timer wakes it)."""
    import esp32

    if board.WAKE == "ext0":
        esp32.wake_on_ext0(pin, esp32.WAKEUP_ANY_HIGH if level else esp32.WAKEUP_ALL_LOW)
    elif board.WAKE == "gpio":
        esp32.wake_on_gpio((pin,), esp32.WAKEUP_ANY_HIGH if level else esp32.WAKEUP_ALL_LOW)
