"""Glances: update a watch complication (title, text, subtext, count, percent) without a
notification. A watch takes about 50 updates a day; GlanceBudget keeps a sensor inside that,
with its state in a small file so it survives deep sleep.

    from pushover.glances import glance, GlanceBudget
    budget = GlanceBudget("/glance.state")
    if budget.allow():
        glance(po, title="Cellar", count=21, percent=80)
"""

import time

from micropython import const

from .api import call
from .errors import FieldError
from .fields import check_int, check_text, check_users

_MAX_TEXT = const(100)
_DAY = const(86400)


def glance(po, title=None, text=None, subtext=None, count=None, percent=None, user=None,
           device=None):
    """Send one glance update; at least one of title, text, subtext, count, percent."""
    for name, value in (("title", title), ("text", text), ("subtext", subtext)):
        if value is not None:
            check_text(name, value, _MAX_TEXT)
    if count is not None:
        check_int("count", count)
    if percent is not None:
        check_int("percent", percent, 0, 100)
    if title is None and text is None and subtext is None and count is None and percent is None:
        raise FieldError("glance", "needs at least one of title, text, subtext, count, percent")
    user = po._user if user is None else check_users(user)
    if user is None:
        raise FieldError("user", "is required: give it to Pushover() or to glance()")
    if device is not None:
        from .options import check_devices  # loaded only when a device is named

        device = check_devices(device)
    return call(po, "POST", "glances.json", (
        ("user", user), ("device", device), ("title", title), ("text", text),
        ("subtext", subtext), ("count", count), ("percent", percent)))


class GlanceBudget:
    """At most `per_day` updates in any rolling day, spaced evenly: allow() says whether one
    may go now and counts it. The last update time is kept in `path` (if given), as Unix
    seconds, so the budget holds across deep sleep and resets."""

    def __init__(self, path=None, per_day=50, clock=time.time):
        check_int("per_day", per_day, 1, 50)  # the watch takes about 50 updates a day
        self.path = path
        self.spacing = _DAY // per_day
        self.clock = clock
        self.last = None
        if path:
            try:
                with open(path) as f:
                    self.last = int(f.read())
            except (OSError, ValueError):
                self.last = None

    def allow(self):
        now = int(self.clock())
        if self.last is not None and 0 <= now - self.last < self.spacing:
            return False
        self.last = now
        if self.path:
            with open(self.path, "w") as f:
                f.write(str(now))
        return True
