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

from .errors import FieldError


class StormGuard:
    def __init__(self, path=None, limit=3, window=3600, clock=time.time):
        if limit < 1 or window < 1:
            raise FieldError("limit", "limit and window must be at least 1")
        self.path = path
        self.limit = limit
        self.window = window
        self.clock = clock
        self.state = {}  # key -> [window start, sent in window, suppressed since last sent]
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

    def allow(self, key):
        """(allowed, suppressed count to report). Counts the attempt either way."""
        now = int(self.clock())
        entry = self.state.get(key)
        if entry is None or not 0 <= now - entry[0] < self.window:
            entry = [now, 0, entry[2] if entry else 0]
        allowed = entry[1] < self.limit
        suppressed = entry[2]
        if allowed:
            entry[1] += 1
            entry[2] = 0
        else:
            entry[2] += 1
        self.state[key] = entry
        self._save()
        return allowed, suppressed if allowed else 0

    def undo(self, key, suppressed):
        """Put back a count taken by allow() when the message then failed to go out."""
        entry = self.state.get(key)
        if entry:
            entry[1] = max(entry[1] - 1, 0)
            entry[2] += suppressed
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
