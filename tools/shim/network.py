"""Host-only stand-in for MicroPython's `network` (never copied to a board). The host is
already online, so a WLAN connects at once; CONNECTS counts connect() calls for tests, and
setting FAIL = True makes a connection never come up (to test the timeout path).
"""

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_WRONG_PASSWORD = 202
STAT_NO_AP_FOUND = 201
STAT_CONNECT_FAIL = 203

CONNECTS = []
FAIL = False
_connected = False


class WLAN:
    def __init__(self, interface_id=STA_IF):
        self.interface_id = interface_id
        self._active = False

    def active(self, is_active=None):
        if is_active is None:
            return self._active
        self._active = bool(is_active)
        return None

    def connect(self, ssid=None, key=None, **_kw):
        global _connected
        CONNECTS.append(ssid)
        _connected = not FAIL

    def disconnect(self):
        global _connected
        _connected = False

    def isconnected(self):
        return _connected and self._active

    def status(self, *_args):
        return STAT_GOT_IP if self.isconnected() else STAT_IDLE

    def ifconfig(self, *_args):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def config(self, *_args, **_kw):
        return None


def hostname(*_args):
    return "host"


def host_power_down():
    """Host-only: the radio is off after deep sleep; connections made before are gone."""
    global _connected
    _connected = False


def host_reset():
    """Host-only: back to the state at power-on."""
    global _connected, FAIL
    _connected = False
    FAIL = False
    CONNECTS.clear()
