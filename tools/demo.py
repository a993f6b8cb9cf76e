"""`make demo`: start a local Pushover, send a text message and a message with an image through
the library (on CPython, through the shim of the firmware's urequests), print what the server
received, and exit non-zero if anything failed. The messages stay in the data folder, so
`make server` shows them in a browser afterwards."""

import os
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for sub in ("lib", "tools/firmware", "tools/shim", "tools"):
    sys.path.insert(0, str(ROOT / sub))

from pushover import Pushover  # noqa: E402
from pushover_server import PushoverServer  # noqa: E402

# Made-up keys of the right shape: the local server accepts any well-formed pair by default.
DEMO_TOKEN = "demoAppToken0123456789abcdefgh"
DEMO_USER = "demoUserKey0123456789abcdefghi"


def demo_png(path, width=160, height=120):
    """A small gradient PNG, written with zlib so the demo ships no binary file."""
    rows = b"".join(b"\0" + b"".join(bytes((x * 255 // width, y * 255 // height, 160))
                                     for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def check_arrived(received, data_dir, image):
    """Failures found in what the server stored: both messages, the image byte for byte."""
    texts = [m["fields"]["message"] for m in received]
    if texts != ["Motion at the front door", "Cellar water level: 12 cm and rising"]:
        print("FAILED: the server did not store both messages:", texts)
        return 1
    att = received[0].get("attachment") or {}
    stored = data_dir / "messages" / att.get("stored_as", "?")
    if not stored.is_file() or stored.read_bytes() != image:
        print("FAILED: the stored image is not the one sent (%s)" % stored)
        return 1
    return 0


def main():
    data_dir = Path(os.environ.get("DATA", ROOT / "server-data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    image = demo_png(data_dir / "demo-camera.png")
    failures = 0
    with PushoverServer(host="127.0.0.1", port=0, data_dir=data_dir, max_seconds=120) as srv:
        po = Pushover(DEMO_TOKEN, DEMO_USER, api_url=srv.api_url, timeout=10)
        print("local Pushover at", srv.url)
        for text, fields in (
            ("Cellar water level: 12 cm and rising", {"title": "Water sensor", "priority": 1,
                                                      "sound": "siren"}),
            ("Motion at the front door", {"title": "Camera", "attachment": str(image)}),
        ):
            try:
                result = po.send(text, **fields)
                print("sent: %r -> request %s, quota left %s" % (text, result.request,
                                                                 result.remaining))
            except Exception as e:  # the demo reports every failure, then exits non-zero
                failures += 1
                print("FAILED: %r: %s: %s" % (text, type(e).__name__, e))
        received = srv.messages()[:2]
        failures += check_arrived(received, data_dir, image.read_bytes())
        print("\nwhat the server received (newest first):")
        for msg in received:
            att = msg.get("attachment")
            print("  - %s | %s%s" % (msg["fields"].get("title", ""), msg["fields"]["message"],
                                     " | image %s, %d bytes, %s" % (
                                         att["filename"], att["size"], att["content_type"])
                                     if att else ""))
    print("\nThe messages are kept in %s. To look at them in a browser:\n"
          "  make server   then open http://127.0.0.1:8765/" % data_dir)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
