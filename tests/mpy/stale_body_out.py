"""Guest script (MicroPython): a request that runs out of heap on entering the transport,
after one that went out whole, must not be taken for one that went out whole. The heap is
locked (micropython.heap_lock) while the arguments of transport.request() are evaluated, so
entering it fails at once: on MicroPython before its first line, where the closure cell of
UrequestsTransport.request is made. Prints the error's class and text."""

import micropython
from pushover import Pushover
from pushover.http import UrequestsTransport


class Requests:
    def request(self, *args, **kwargs):
        raise AssertionError("not reached: the heap is locked before the transport runs")


LOCKED = [False]


def lock():
    micropython.heap_lock()
    LOCKED[0] = True


def unlock():
    if LOCKED[0]:  # the lock is a counter: an unlock too many would lock it for good
        micropython.heap_unlock()
        LOCKED[0] = False


class Transport(UrequestsTransport):
    """body_out read with the heap unlocked again, so that the error can be made."""

    @property
    def body_out(self):
        unlock()
        return self._body_out

    @body_out.setter
    def body_out(self, value):
        self._body_out = value


class LockingPushover(Pushover):
    """Its timeout, read as the last argument of transport.request(), locks the heap."""

    @property
    def timeout(self):
        lock()
        return None

    @timeout.setter
    def timeout(self, value):
        pass


transport = Transport(Requests())
po = LockingPushover("a" * 30, "u" * 30, transport=transport)
transport._body_out = True  # what the latest request left: it went out whole
try:
    po.send("Door open")
except Exception as e:  # noqa: BLE001 (printed for the host to judge)
    unlock()
    print(type(e).__name__, e)
