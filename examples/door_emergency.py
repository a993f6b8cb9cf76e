"""A door left open: an emergency alert, cancelled by tag when the door closes.

Each wake reads the door switch (board.DOOR_PIN). When the door has been open for
DOOR_OPEN_MINUTES, it sends a priority-2 alert (repeated by Pushover every 60 s until someone
acknowledges it, for at most an hour) tagged "door-<DOOR_NAME>". When the door closes, it
cancels every alert with that tag: no receipt needs to be kept, so this works across deep
sleep and even after a power cut. What it knows (when the door opened, whether an alert is
out) is kept in a small JSON file, written whole then renamed over the old one. The file says
an alert may be out *before* it is sent, so that an alert whose reply never came (or a power
cut in the middle of the send) is still cancelled when the door closes; the next wake sends
it again (same tag, so one cancel covers both). A clock that went back (a power cut resets it
to 2000 until NTP) restarts the open-door count instead of waiting for years.

Between checks the board deep-sleeps; where it can (board.WAKE), a change of the door also
wakes it at once.

On the board, as /main.py: main() runs at every wake. On the host: main(settings=...,
board=..., door=<object with value()>, state_path=..., sleep=print, clock=...) runs one wake.
"""

import json
import os
import time

import wifi

import machine
from pushover import PushoverError

DOOR_NAME = "garage"
DOOR_OPEN_MINUTES = 10
STATE_PATH = "/door.json"
RETRY_S = 60  # Pushover repeats the alert this often until acknowledged (>= 30)
EXPIRE_S = 3600  # and stops after this long (<= 10800)
CHECK_S = 60  # how often to look when no pin can wake the board
IDLE_S = 3600  # how long to sleep when a pin change will wake the board anyway


def load_state(path):
    try:
        with open(path) as f:
            state = json.load(f)
        if isinstance(state, dict):
            return state
    except (OSError, ValueError):
        pass
    return {"opened_at": None, "alerted": False, "receipt": None, "tagged": False}


def save_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.rename(tmp, path)


def main(settings=None, board=None, door=None, state_path=STATE_PATH, sleep=None,
         clock=time.time):
    """One wake. Returns what happened: "closed", "opened", "open", "alerted", "alerting",
    "cancelled" or "error: ..."."""
    if settings is None:
        settings = wifi.load_settings()
    if board is None:
        board = wifi.load_board()
    if door is None:
        if board.DOOR_PIN is None:
            raise RuntimeError("board.py has no DOOR_PIN")
        door = machine.Pin(board.DOOR_PIN, machine.Pin.IN)  # external pull-up: see board.py
    name = getattr(settings, "DOOR_NAME", DOOR_NAME)
    tag = "door-" + name
    open_s = int(getattr(settings, "DOOR_OPEN_MINUTES", DOOR_OPEN_MINUTES)) * 60
    state = load_state(state_path)
    now = int(clock())
    is_open = door.value() == board.DOOR_OPEN_LEVEL
    wait_s = CHECK_S
    try:
        if is_open:
            if state.get("opened_at") is None or state["opened_at"] > now:
                state["opened_at"] = now
            opened_for = now - state["opened_at"]
            if state.get("alerted"):
                outcome = "alerting"
            elif opened_for >= open_s:
                wifi.online(settings)
                state["tagged"] = True  # from here on an alert may be out: cancel on close
                save_state(state_path, state)
                result = wifi.client(settings, board).send(
                    "The %s door has been open for %d minutes" % (name, opened_for // 60),
                    title="Door open", priority=2, retry=RETRY_S, expire=EXPIRE_S, tags=tag)
                state["alerted"] = True
                state["receipt"] = result.receipt
                outcome = "alerted"
            else:
                outcome = "opened" if opened_for == 0 else "open"
                wait_s = min(CHECK_S, open_s - opened_for) if board.WAKE is None else \
                    open_s - opened_for
        else:
            if state.get("alerted") or state.get("tagged"):
                from pushover.receipts import Receipts

                wifi.online(settings)
                Receipts(wifi.client(settings, board)).cancel_by_tag(tag)
                outcome = "cancelled"
            else:
                outcome = "closed"
            state = {"opened_at": None, "alerted": False, "receipt": None, "tagged": False}
    except (PushoverError, OSError) as e:
        outcome = "error: " + str(e)  # the state is unchanged: the next wake tries again
    save_state(state_path, state)
    print("door_emergency:", name, outcome)

    if board.WAKE is not None and board.DOOR_PIN is not None:
        # wake as soon as the door changes: when it is open, on the closed level, and back
        closed_level = 1 - board.DOOR_OPEN_LEVEL
        wifi.arm_wake(board, machine.Pin(board.DOOR_PIN, machine.Pin.IN),
                      closed_level if is_open else board.DOOR_OPEN_LEVEL)
        # a failed send or cancel is tried again after CHECK_S, not after an idle hour (an
        # alert that failed to cancel keeps ringing the phone meanwhile)
        if not outcome.startswith("error") and (not is_open or state.get("alerted")):
            wait_s = IDLE_S
    (wifi.deep_sleep if sleep is None else sleep)(max(wait_s, 1) * 1000)
    return outcome


if __name__ == "__main__":
    main()
