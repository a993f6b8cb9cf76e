"""PushoverServer: the store and the HTTP layer put together, its life (start, stop, a time
bound), its fault setting and what it saw (requests, connections)."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time

from .e2e import parse_key
from .httpd import FAULT_MODES, Handler, HTTPServer
from .masking import mask_text
from .store import Store

DEFAULT_DEVICES = ("phone", "tablet", "watch")


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PushoverServer:
    """A local Pushover API; see the package docstring. Thread-safe; `start()` serves from a
    background daemon thread until `stop()` or `max_seconds` (None: no limit)."""

    def __init__(self, host="127.0.0.1", port=0, data_dir=None, tokens=None, users=None,
                 quota=10000, max_seconds=300, fault=None, slow_seconds=10.0,
                 socket_timeout=10.0, devices=DEFAULT_DEVICES, log=None, clock=time.time,
                 encryption_key=None):
        self.host = host
        # the key the phone's app shows (64 hex characters): end-to-end encrypted fields are
        # then read as the phone reads them (MAC checked) and shown in the inbox
        self.encryption_key = None if encryption_key is None else parse_key(encryption_key)
        self.port = port
        self.tokens = frozenset(tokens) if tokens is not None else None
        self.users = frozenset(users) if users is not None else None
        self.max_seconds = max_seconds
        self.slow_seconds = float(slow_seconds)
        self.socket_timeout = float(socket_timeout)
        self.devices = tuple(devices)
        self.log = log  # a text stream for one masked line per request, or None (quiet)
        self.clock = clock
        self.store = Store(data_dir if data_dir is not None else "server-data", quota=quota,
                           devices=self.devices, clock=clock, log=self._log)
        self.data_dir = self.store.data_dir
        self.messages_dir = self.store.messages_dir
        self.glances_dir = self.store.glances_dir
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd = None
        self._thread = None
        self._internal_errors = 0
        self._fault = (None, 0)
        if fault is not None:
            self.set_fault(fault, None)
        self._conns = {}
        self._conn_seq = 0
        self._max_concurrent = 0
        self._requests = []

    # ---- life

    @property
    def url(self):
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = "[%s]" % host
        return "http://%s:%d" % (host, self.port)

    @property
    def api_url(self):
        return self.url + "/1"

    def start(self):
        if self.running:
            return self
        self.store.load()
        self.store.reset_quota()  # the quota is counted from `quota` at each start
        if not is_loopback(self.host):  # from the CLI or from code alike
            print("WARNING: listening on %s: this server is reachable from the network, has no "
                  "authentication and shows every message it receives." % self.host,
                  file=sys.stderr)
        cls = HTTPServer
        if ":" in self.host:
            cls = type("HTTPServer6", (HTTPServer,), {"address_family": socket.AF_INET6})
        self._httpd = cls((self.host, self.port), Handler)
        self._httpd.app = self
        self._httpd.timeout = 0.05  # how often the loop looks at stop() and max_seconds
        self.port = self._httpd.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="pushover-server", daemon=True)
        self._thread.start()
        return self

    def _serve(self):
        deadline = (time.monotonic() + self.max_seconds) if self.max_seconds else None
        try:
            while not self._stopping.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    self._log("max_seconds reached, stopping")
                    break
                self._httpd.handle_request()
        finally:
            self._stopping.set()
            self._httpd.server_close()
            self._close_connections()

    def stop(self):
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        self._close_connections()

    def wait(self):
        """Blocks until the server stops (stop() from another thread, or max_seconds)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _close_connections(self):
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _conn_opened(self, conn):
        with self._lock:
            self._conn_seq += 1
            self._conns[conn] = self._conn_seq
            self._max_concurrent = max(self._max_concurrent, len(self._conns))
            return self._conn_seq, 0

    def _conn_closed(self, conn):
        with self._lock:
            self._conns.pop(conn, None)

    def _request_done(self, record):
        with self._lock:
            self._requests.append(record)
            del self._requests[:-1000]

    def _log(self, line):
        if self.log is not None:
            try:
                self.log.write(mask_text(line) + "\n")
                self.log.flush()
            except (OSError, ValueError):
                pass

    # ---- faults

    def set_fault(self, mode, count=1):
        """The next `count` API requests (None: all, until cleared) misbehave as `mode`;
        mode None (or "" / "none") clears."""
        if mode in (None, "", "none"):
            with self._lock:
                self._fault = (None, 0)
            return
        if mode not in FAULT_MODES:
            raise ValueError("unknown fault mode %r; known: %s" % (mode, ", ".join(FAULT_MODES)))
        if count is not None:
            count = int(count)
            if count < 0:
                raise ValueError("count must be >= 0 or None")
        with self._lock:
            self._fault = (mode, count)

    def fault_state(self):
        """(mode, count left): mode None when no fault is set; count None: until cleared."""
        with self._lock:
            return self._fault

    def _take_fault(self):
        with self._lock:
            mode, count = self._fault
            if mode is None:
                return None
            if count is None:
                return mode
            if count <= 0:
                self._fault = (None, 0)
                return None
            self._fault = (mode, count - 1) if count > 1 else (None, 0)
            return mode

    # ---- what it holds and saw

    def _quota_state(self):
        return self.store.quota_state()

    def messages(self):
        """Every stored message, newest first (copies: dicts as in the JSON files)."""
        return self.store.messages()

    def glances(self):
        return self.store.glances()

    def acknowledge(self, receipt, user=None, device=None):
        """A person acknowledging an emergency-priority message; see Store.acknowledge."""
        return self.store.acknowledge(receipt, user=user, device=device)

    def acknowledge_message(self, message_id):
        return self.store.acknowledge_message(message_id)

    def requests(self):
        """One record per API/site request answered or dropped, oldest first (masked paths):
        time, connection, on_connection, method, path, version, connection_header, status,
        fault. `status` None: the connection was dropped without a reply."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def stats(self):
        msgs, glances = self.store.messages(), self.store.glances()
        with self._lock:
            return {"connections": self._conn_seq, "open_connections": len(self._conns),
                    "internal_errors": self._internal_errors,
                    "max_concurrent": self._max_concurrent, "requests": len(self._requests),
                    "messages": len(msgs), "glances": len(glances)}
