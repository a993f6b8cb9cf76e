"""Emergency (priority 2) alerts after sending: poll a receipt, wait for acknowledgement,
cancel by receipt or by tag. Polling never goes faster than once every 5 seconds, as Pushover
asks; `wait()` sleeps between polls instead of busy-looping.

    from pushover.receipts import Receipts
    r = Receipts(po)
    status = r.wait(result.receipt, timeout=600)   # acknowledged, expired, or timed out
    r.cancel_by_tag("garage")                       # no receipt needed (e.g. after deep sleep)
"""

from micropython import const

from .api import call
from .compat import check_seconds, sleep_ms, ticks_diff, ticks_ms
from .fields import check_key, check_text
from .http import Result

_MIN_INTERVAL_MS = const(5000)
_MAX_TAG = const(512)


def quote(text):
    """`text` percent-encoded as UTF-8, every byte but A-Z a-z 0-9 - _ . ~ escaped (so a '/'
    stays inside one path segment)."""
    from .form import _HEX, _safe

    out = bytearray()
    for b in text.encode():
        if _safe(b):
            out.append(b)
        else:
            out.append(37)  # '%'
            out.append(_HEX[b >> 4])
            out.append(_HEX[b & 15])
    return out.decode()


class Receipt(Result):
    """A receipt's status: every field of the API, with 0/1 flags as bools."""

    def __init__(self, http_status, data, headers):
        super().__init__(http_status, data, headers)
        get = data.get
        self.acknowledged = bool(get("acknowledged"))
        self.acknowledged_at = get("acknowledged_at") or 0
        self.acknowledged_by = get("acknowledged_by") or ""
        self.acknowledged_by_device = get("acknowledged_by_device") or ""
        self.last_delivered_at = get("last_delivered_at") or 0
        self.expired = bool(get("expired"))
        self.expires_at = get("expires_at") or 0
        self.called_back = bool(get("called_back"))
        self.called_back_at = get("called_back_at") or 0

    @property
    def done(self):
        """Nothing more will happen: acknowledged or expired."""
        return self.acknowledged or self.expired

    def __repr__(self):  # acknowledged_by is a user key: never shown
        return "<Receipt acknowledged=%s expired=%s>" % (self.acknowledged, self.expired)


class Receipts:
    """Receipt calls for one Pushover client, spaced at least `interval` seconds apart (>= 5).
    `ticks` and `sleep` (milliseconds: time.ticks_ms and time.sleep_ms by default) are the
    clock it spaces them by; tests hand in a fake one."""

    def __init__(self, po, interval=5, ticks=None, sleep=None):
        self.po = po
        # at most a day: a receipt expires within 3 hours (and the tick counter wraps)
        self.interval_ms = max(int(check_seconds("interval", interval, 0, 86400) * 1000),
                               _MIN_INTERVAL_MS)
        self._last = None  # ticks of the last poll
        self._ticks = ticks or ticks_ms
        self._sleep = sleep or sleep_ms

    def delay_ms(self):
        """How long the next poll must wait to keep 5 s (`interval`) from the last (0: none)."""
        if self._last is None:
            return 0
        return max(self.interval_ms - ticks_diff(self._ticks(), self._last), 0)

    def polled(self):
        """Note that a poll goes out now."""
        self._last = self._ticks()

    def _space(self):
        wait = self.delay_ms()
        if wait:
            self._sleep(wait)
        self.polled()

    def status(self, receipt):
        """The receipt's status now (sleeps first if the last poll was under 5 s ago)."""
        check_key("receipt", receipt)
        self._space()
        result = call(self.po, "GET", "receipts/" + receipt + ".json")
        return Receipt(result.http_status, result.data, {})

    def finished(self, status, start, timeout):
        """Whether wait() ends with `status`: nothing more will happen, or another poll would
        come after `timeout` seconds from `start` (its ticks)."""
        left = int(timeout * 1000) - ticks_diff(self._ticks(), start)
        return status.done or left < self.interval_ms

    def wait(self, receipt, timeout):
        """Poll until acknowledged or expired, or `timeout` seconds passed; the last status."""
        check_seconds("timeout", timeout)
        start = self._ticks()
        while True:
            status = self.status(receipt)
            if self.finished(status, start, timeout):
                return status

    def cancel(self, receipt):
        """Stop the re-alerts of one emergency message."""
        check_key("receipt", receipt)
        return call(self.po, "POST", "receipts/" + receipt + "/cancel.json")

    def cancel_by_tag(self, tag):
        """Cancel every emergency message sent with this tag; returns how many (or None)."""
        check_text("tag", tag, _MAX_TAG, True)
        result = call(self.po, "POST", "receipts/cancel_by_tag/" + quote(tag) + ".json")
        return result.data.get("canceled")
