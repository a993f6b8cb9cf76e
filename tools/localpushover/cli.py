"""The command line: `python -m localpushover` (or tools/pushover_server.py)."""

from __future__ import annotations

import argparse
import os
import sys

from .httpd import FAULT_MODES
from .masking import mask
from .rules import KEY_RE
from .server import PushoverServer


def main(argv=None):
    ap = argparse.ArgumentParser(description="A local Pushover-compatible API server with an "
                                             "HTML inbox, for development and tests.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8765")))
    ap.add_argument("--data", default="server-data", help="folder for messages (server-data/)")
    ap.add_argument("--token", action="append", help="accept only this application token "
                                                     "(repeatable); default: any well-formed")
    ap.add_argument("--user", action="append", help="accept only this user key (repeatable)")
    ap.add_argument("--quota", type=int, default=10000, help="monthly message limit")
    ap.add_argument("--fault", choices=FAULT_MODES, help="misbehave on every API request")
    ap.add_argument("--fault-count", type=int, default=None,
                    help="only for the next N API requests (default: all)")
    ap.add_argument("--max-seconds", type=float, default=None, help="stop after N seconds")
    ap.add_argument("--slow-seconds", type=float, default=10.0, help="delay of the slow fault")
    ap.add_argument("--encryption-key", default=os.environ.get("PUSHOVER_ENCRYPTION_KEY"),
                    help="the 64 hex characters of an end-to-end encryption key, to read "
                         "encrypted messages as the phone does (or PUSHOVER_ENCRYPTION_KEY; "
                         "an argument is seen by other users of the machine)")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="log one line per request to stderr (keys masked)")
    args = ap.parse_args(argv)
    for t in (args.token or []) + (args.user or []):
        if not KEY_RE.fullmatch(t):
            print("warning: %r is not 30 characters of A-Z a-z 0-9; it can never match"
                  % mask(t), file=sys.stderr)
    try:
        srv = PushoverServer(host=args.host, port=args.port, data_dir=args.data,
                             tokens=args.token, users=args.user, quota=args.quota,
                             max_seconds=args.max_seconds, slow_seconds=args.slow_seconds,
                             log=sys.stderr if args.verbose else None,
                             encryption_key=args.encryption_key)
    except ValueError as e:  # a malformed key: the rule, never the value
        print("--encryption-key: %s" % e, file=sys.stderr)
        return 2
    if args.fault:
        srv.set_fault(args.fault, args.fault_count)
    try:
        srv.start()
    except OSError as e:
        print("cannot listen on %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1
    print("Local Pushover: inbox %s/  API %s" % (srv.url, srv.api_url), flush=True)
    try:
        srv.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0
