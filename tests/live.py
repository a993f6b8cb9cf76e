"""Shared by the tests that talk to the local server (tools/localpushover) over real loopback
sockets: a bounded server and the transports. Every server listens on 127.0.0.1 only and stops
by itself after `max_seconds`; every test is bounded by pytest-timeout (pyproject.toml, and a
tighter `pytestmark` in the modules that talk to servers)."""

import time

import requests

from pushover import Pushover
from pushover.http import UrequestsTransport
from pushover.sock import SocketTransport
from pushover_server import FAULT_MODES, PushoverServer  # noqa: F401

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
OTHER_USER = "oOther0123456789abcdefghijKLMN"
SERVER_SECONDS = 60  # no server outlives this, whatever happens to the test
SLOW_SECONDS = 4  # the server's delay in the "slow" fault mode
CLIENT_TIMEOUT = 1  # the client's timeout in fault tests: well under SLOW_SECONDS
# the firmware's requests as released firmware up to v1.28 freezes it (0.10) and as v1.29
# does (1.1, the library's default transport), and the socket transport
TRANSPORTS = ("requests-0.10", "requests-1.1", "socket")


def start_server(data_dir, **kw):
    kw.setdefault("max_seconds", SERVER_SECONDS)
    kw.setdefault("slow_seconds", SLOW_SECONDS)
    kw.setdefault("socket_timeout", 5)
    return PushoverServer(host="127.0.0.1", port=0, data_dir=str(data_dir), **kw).start()


def make_transport(kind):
    """requests-1.1 is the library's default (None: UrequestsTransport over the stand-in of
    the firmware's requests); requests-0.10 the same transport over the older generation."""
    if kind == "socket":
        return SocketTransport()
    if kind == "requests-1.1":
        return None
    if kind.startswith("requests-"):
        return UrequestsTransport(requests.Requests(kind[len("requests-"):]))
    raise ValueError(kind)


def client(server, kind, token=TOKEN, user=USER, timeout=3, api_url=None, **kw):
    return Pushover(token, user, api_url=api_url or server.api_url,
                    transport=make_transport(kind), timeout=timeout, **kw)


def close(po):
    transport = po.transport
    if transport is not None and hasattr(transport, "close"):
        transport.close()


def api_requests(server, at_least=0, wait=2.0):
    """The server's records of API requests (under /1/), oldest first. The server records a
    request just after its reply is written, so a client may see the reply first: wait (up to
    `wait` s) until there are `at_least` records."""
    deadline = time.monotonic() + wait
    while True:
        found = [r for r in server.requests() if "/1/" in r["path"]]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def settled_requests(server, quiet=0.2, wait=3.0):
    """The server's API request records once no new one came for `quiet` seconds (a request
    answered or dropped just now may be recorded a moment later)."""
    deadline = time.monotonic() + wait
    found = api_requests(server)
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = api_requests(server)
        if len(now) != len(found):
            found, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            break
    return found
