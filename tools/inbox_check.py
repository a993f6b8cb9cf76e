"""The inbox in a real browser (a manual check, not part of `make test`): starts a local
Pushover, sends a few messages of every kind, takes a screenshot with headless Chromium and
checks in its DOM that a message sent after the page loaded appears without a reload and that
no message's markup became a script.

    apt-get install -y chromium     # Debian's package
    make inbox-check                # or: .venv/bin/python tools/inbox_check.py [--out FILE]

Prints what it found; exits 1 when a check fails. Look at the screenshot (build/inbox.png).
"""

import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402

from localpushover import PushoverServer  # noqa: E402

TOKEN = "inboxTokenA1b2C3d4E5f6G7h8J9k0"
USER = "inboxUserKeyZ9y8X7w6V5u4T3s2R1"
LATE = "sent after the page loaded"


def png(width, height):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + b"\xd0\x30\x30" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def send(srv, **fields):
    data = dict(token=TOKEN, user=USER, message="hi")
    data.update(fields)
    with urllib.request.urlopen(srv.api_url + "/messages.json", urlencode(data).encode(),
                                timeout=10) as r:
        return json.load(r)


def seed(srv):
    send(srv, message="Plain text with <script>alert(1)</script> and a\nsecond line")
    send(srv, title="HTML", html="1", message="<b>bold</b> <i>italic</i> <u>under</u> "
         "<font color='#c00'>red</font> <a href='https://example.invalid/'>a link</a> "
         "<script>alert(2)</script>")
    send(srv, title="Table", monospace="1", message="temp  21.5\nhum   40 %",
         url="https://example.invalid/cam", url_title="Open camera", priority="1",
         sound="siren", timestamp="1700000000")
    requests.post(srv.api_url + "/messages.json", timeout=10, files={
        "attachment": ("door.png", png(64, 40))},
        data=dict(token=TOKEN, user=USER, message="Someone at the door", title="Door"))
    send(srv, title="Water leak", message="Basement sensor wet", priority="2", retry="30",
         expire="3600")
    acked = send(srv, message="Acknowledged alarm (no title)", priority="2", retry="60",
                 expire="600")
    srv.acknowledge(acked["receipt"], device="watch")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/inbox.png")
    args = ap.parse_args(argv)
    browser = shutil.which("chromium")
    if browser is None:
        print("chromium is not installed (Debian: apt-get install -y chromium)")
        return 1
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)

    def chromium(*extra):
        return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + tempfile.mkdtemp(), *extra]

    with tempfile.TemporaryDirectory() as data, \
            PushoverServer(port=0, data_dir=data, max_seconds=120) as srv:
        seed(srv)
        subprocess.run(chromium("--window-size=900,2000", "--screenshot=%s" % out,
                                srv.url + "/"), capture_output=True, timeout=60, check=True)
        # load the page, then send a message: the page's own polling must show it
        seen_before = len(srv.requests())
        proc = subprocess.Popen(chromium("--virtual-time-budget=10000", "--dump-dom",
                                         srv.url + "/"),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                r["path"] == "/" for r in srv.requests()[seen_before:]):
            time.sleep(0.01)
        send(srv, title="Arrived later", message=LATE)
        dom = proc.communicate(timeout=60)[0].decode()
    checks = {
        "screenshot written": out.is_file() and out.stat().st_size > 0,
        "a message sent after the page loaded appears without a reload": LATE in dom,
        "the page's only script is /inbox/live.js": dom.count("<script") == 1,
        "a <script> in a message is shown as text": "&lt;script&gt;alert(1)" in dom,
    }
    for name, ok in checks.items():
        print("%s  %s" % ("ok  " if ok else "FAIL", name))
    print("screenshot: %s" % out)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
