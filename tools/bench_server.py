"""How long the local Pushover takes per message on one kept-alive connection, against one
connection per message (host only; prints numbers and their ratio, asserts nothing).

    python tools/bench_server.py [--sends 20]

A server that answers in two writes (headers, then body) with Nagle's algorithm on makes every
reply after the first on a kept-alive connection wait for the client's delayed ACK (about
40 ms on Linux); this shows it as a ratio well above 1.
"""

import argparse
import http.client
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pushover_server import PushoverServer  # noqa: E402

TOKEN = "benchToken0123456789abcdefghij"
USER = "benchUser0123456789abcdefghijk"
BODY = urlencode({"token": TOKEN, "user": USER, "message": "bench"}).encode()
HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def one(conn):
    conn.request("POST", "/1/messages.json", body=BODY, headers=HEADERS)
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise SystemExit("unexpected status %d" % resp.status)


def kept_alive(port, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    t = time.perf_counter()
    for _ in range(n):
        one(conn)
    conn.close()
    return time.perf_counter() - t


def fresh(port, n):
    t = time.perf_counter()
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        one(conn)
        conn.close()
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=20)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, \
            PushoverServer(port=0, data_dir=tmp, max_seconds=120) as srv:
        fresh(srv.port, 2)  # warm up
        a = kept_alive(srv.port, args.sends)
        b = fresh(srv.port, args.sends)
    print("%d sends on one kept-alive connection: %.1f ms" % (args.sends, a * 1000))
    print("%d sends on %d connections:          %.1f ms" % (args.sends, args.sends, b * 1000))
    print("ratio kept-alive / fresh: %.2f" % (a / b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
