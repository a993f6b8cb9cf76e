"""Storm control: a flapping sensor sends at most `limit` messages per `window` seconds for
each alert key; the ones held back are counted and the count is added to the next message
that goes out ("(+12 suppressed)"). State is kept in a small file, so it holds across deep
sleep and resets (the RTC keeps time through deep sleep).

    from pushover.storm import StormGuard
    guard = StormGuard("/storm.json", limit=3, window=3600)
    guard.send(po, "door", "Door opened")      # returns None when held back
"""

import json
import time

from .compat import check_seconds
from .fields import check_int


class StormGuard:
    """At most `limit` messages in any `window` seconds (a sliding window: the times of the
    last `limit` messages are kept), per alert key."""

    def __init__(self, path=None, limit=3, window=3600, clock=time.time):
        self.path = path
        self.limit = check_int("limit", limit, 1)
        self.window = check_seconds("window", window, 1)
        self.clock = clock
        self.state = {}  # key -> [[times of the messages sent in the window], suppressed]
        if path:
            try:
                with open(path) as f:
                    state = json.load(f)
                if isinstance(state, dict):
                    self.state = state
            except (OSError, ValueError):
                self.state = {}

    def _save(self):
        if self.path:
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.state, f)
            import os

            os.rename(tmp, self.path)

    def _entry(self, key, now):
        """[times still inside the window, suppressed]; a clock set back forgets the times."""
        entry = self.state.get(key)
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)):
            entry = [[], 0]  # none yet, or a file of an older layout
        entry[0] = [t for t in entry[0] if 0 <= now - t < self.window]
        return entry

    def allow(self, key):
        """(allowed, suppressed count to report). Counts the attempt either way."""
        now = int(self.clock())
        entry = self._entry(key, now)
        times, suppressed = entry
        allowed = len(times) < self.limit
        if allowed:
            times.append(now)
            entry[1] = 0
        else:
            entry[1] += 1
        self.state[key] = entry
        self._save()
        return allowed, suppressed if allowed else 0

    def undo(self, key, suppressed):
        """Put back a count taken by allow() when the message then failed to go out."""
        entry = self.state.get(key)
        if entry and entry[0]:
            entry[0].pop()
            entry[1] += suppressed
            self._save()

    def send(self, po, key, message, **fields):
        """po.send() if the key is within its budget, else None (held back and counted)."""
        allowed, suppressed = self.allow(key)
        if not allowed:
            return None
        if suppressed:
            note = " (+%d suppressed)" % suppressed
            message = message[: 1024 - len(note)] + note
        try:
            return po.send(message, **fields)
        except Exception:
            self.undo(key, suppressed)
            raise
