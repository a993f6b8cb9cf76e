"""Battery level on a watch: a Pushover glance with the charge in percent and a count.

Each wake reads the battery through a divider on board.BATTERY_ADC_PIN, counts the wake
(`count` on the watch: how many readings so far, e.g. how often a mailbox flap woke the
board), and updates the glance if pushover.glances.GlanceBudget allows: a watch takes about
50 updates a day, so the budget spaces them evenly and, keeping its last update time in a file,
holds across deep sleep. The count is kept in a file too, so a held-back update loses nothing:
the next one shows the total.

On the host: main(settings=..., board=..., battery=lambda: 3900, state_path=...,
budget_path=..., clock=..., sleep=print) runs one wake.
"""

import json
import os
import time

import wifi

import machine
from pushover import PushoverError

BATTERY_INTERVAL_S = 1800
GLANCES_PER_DAY = 48
STATE_PATH = "/battery.json"
BUDGET_PATH = "/glance.state"
EMPTY_MV = 3300  # a single Li-ion/LiPo cell: empty (the regulator gives up below this)
FULL_MV = 4200  # and full


def battery_reader(board):
    """A function that returns the battery voltage in millivolts."""
    if board.BATTERY_ADC_PIN is None:
        raise RuntimeError("board.py has no BATTERY_ADC_PIN")
    adc = machine.ADC(machine.Pin(board.BATTERY_ADC_PIN), atten=machine.ADC.ATTN_11DB)

    def read():
        total = 0
        for _ in range(8):  # the ESP32 ADC is noisy: average a few readings
            total += adc.read_uv()  # calibrated microvolts at the pin
        return total // 8 * board.BATTERY_DIVIDER / 1000

    return read


def percent(millivolts):
    """A rough charge estimate: linear from EMPTY_MV to FULL_MV, clamped to 0-100."""
    pct = (millivolts - EMPTY_MV) * 100 // (FULL_MV - EMPTY_MV)
    return int(max(0, min(100, pct)))


def main(settings=None, board=None, battery=None, state_path=STATE_PATH,
         budget_path=BUDGET_PATH, clock=time.time, sleep=None):
    """One wake. Returns (what happened, percent, count): "sent", "held back" or "error: ..."."""
    from pushover.glances import GlanceBudget, glance

    if settings is None:
        settings = wifi.load_settings()
    if board is None:
        board = wifi.load_board()
    if battery is None:
        battery = battery_reader(board)
    millivolts = battery()
    pct = percent(millivolts)
    try:
        with open(state_path) as f:
            count = int(json.load(f)["count"]) + 1
    except (OSError, ValueError, KeyError, TypeError):
        count = 1
    tmp = state_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"count": count}, f)
    os.rename(tmp, state_path)

    budget = GlanceBudget(budget_path, int(getattr(settings, "GLANCES_PER_DAY", GLANCES_PER_DAY)),
                          clock)
    outcome = "held back"
    if budget.allow():
        try:
            wifi.online(settings)
            glance(wifi.client(settings, board), title="Battery",
                   text="%.2f V" % (millivolts / 1000), percent=pct, count=count)
            outcome = "sent"
        except (PushoverError, OSError) as e:
            outcome = "error: " + str(e)
    print("battery_glance:", outcome, pct, "%", count)
    interval_s = int(getattr(settings, "BATTERY_INTERVAL_S", BATTERY_INTERVAL_S))
    (wifi.deep_sleep if sleep is None else sleep)(interval_s * 1000)
    return outcome, pct, count


if __name__ == "__main__":
    main()
