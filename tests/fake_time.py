"""A clock and sleep for retry.send and StormGuard: sleeping advances the clock at once."""

import time


class FakeTime:
    def __init__(self, now=None):
        self.now = time.time() if now is None else now
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
