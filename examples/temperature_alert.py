"""Temperature alert with hysteresis, on a board that deep-sleeps between readings.

Each wake: read the temperature (a DS18B20 on board.DS18B20_PIN, else the chip's internal
sensor), alert once when it is above TEMP_HIGH, and re-arm only when it has fallen below
TEMP_HIGH - TEMP_HYST, so a reading hovering around the limit does not alert again and again.
Whether an alert is out is kept in RTC memory, which survives deep sleep (not a power cut:
then the board starts armed again). Wi-Fi is only switched on when there is something to send.

On the board, as /main.py: runs main() at every wake. On the host: main(settings=...,
board=..., sensor=lambda: 31.5, sleep=print) runs one wake through tools/shim.
"""

import wifi

import machine
from pushover import PushoverError

TEMP_HIGH = 30.0
TEMP_HYST = 2.0
TEMP_INTERVAL_S = 300
_ALERTED = b"T1"  # RTC memory when an alert is out; anything else means armed


def internal_sensor():
    """The chip's own temperature in degrees C: the die, a few degrees above the air around
    it, so only good for "the enclosure is overheating"."""
    import esp32

    read = getattr(esp32, "mcu_temperature", None)  # ESP32-S2, S3, C3, C6: degrees C
    if read is not None:
        return float(read())
    return (esp32.raw_temperature() - 32) / 1.8  # original ESP32: degrees F


def ds18b20_sensor(pin):
    """A function that reads the first DS18B20 on `pin` (needs a 4.7k pull-up), degrees C."""
    import time

    import ds18x20
    import onewire

    sensor = ds18x20.DS18X20(onewire.OneWire(machine.Pin(pin)))
    roms = sensor.scan()
    if not roms:
        raise OSError("no DS18B20 found on GPIO %d" % pin)

    def read():
        sensor.convert_temp()
        time.sleep_ms(750)  # a 12-bit conversion takes up to 750 ms
        return sensor.read_temp(roms[0])

    return read


def default_sensor(board):
    if board.DS18B20_PIN is not None:
        return ds18b20_sensor(board.DS18B20_PIN)
    return internal_sensor


def step(alerted, celsius, high, hyst):
    """(alerted afterwards, "alert" | "rearm" | None): the hysteresis rule alone."""
    if not alerted and celsius > high:
        return True, "alert"
    if alerted and celsius < high - hyst:
        return False, "rearm"
    return alerted, None


def main(settings=None, board=None, sensor=None, rtc=None, sleep=None):
    """One wake: read, alert or re-arm, remember, deep sleep. Returns (what happened, degrees C)
    where what happened is "alerted", "rearmed", "normal", "still high" or "error: ...".
    """
    if settings is None:
        settings = wifi.load_settings()
    if board is None:
        board = wifi.load_board()
    if rtc is None:
        rtc = machine.RTC()
    high = float(getattr(settings, "TEMP_HIGH", TEMP_HIGH))
    hyst = float(getattr(settings, "TEMP_HYST", TEMP_HYST))
    interval_s = int(getattr(settings, "TEMP_INTERVAL_S", TEMP_INTERVAL_S))
    alerted = bytes(rtc.memory()) == _ALERTED
    celsius = None
    try:
        if sensor is None:
            sensor = default_sensor(board)
        celsius = float(sensor())
        alerted_now, change = step(alerted, celsius, high, hyst)
        if change == "alert":
            wifi.online(settings)
            wifi.client(settings, board).send(
                "%.1f °C, above the limit of %.1f °C" % (celsius, high),
                title="Temperature high", priority=1)
            outcome = "alerted"
        elif change == "rearm":
            outcome = "rearmed"
        else:
            outcome = "still high" if alerted else "normal"
        alerted = alerted_now  # only once the alert went out: a failed send retries next wake
    except (PushoverError, OSError, RuntimeError) as e:
        outcome = "error: " + str(e)
        print("temperature_alert:", outcome)
    rtc.memory(_ALERTED if alerted else b"T0")
    print("temperature_alert:", outcome, celsius)
    (wifi.deep_sleep if sleep is None else sleep)(interval_s * 1000)
    return outcome, celsius


if __name__ == "__main__":
    main()
