"""Writes lib/pushover/roots.pem: the two roots Pushover's certificates chain to (DigiCert
Global Root G2, and DigiCert Global Root CA for the older chain), taken from Debian's
ca-certificates package. `--check` only compares (used by the tests)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("/usr/share/ca-certificates/mozilla")
NAMES = ("DigiCert_Global_Root_G2.crt", "DigiCert_Global_Root_CA.crt")
TARGET = ROOT / "lib" / "pushover" / "roots.pem"


def build():
    out = ""
    for name in NAMES:
        pem = (SOURCE / name).read_text().strip() + "\n"
        out += pem
    return out


if __name__ == "__main__":
    text = build()
    if "--check" in sys.argv:
        sys.exit(0 if TARGET.read_text() == text else "roots.pem differs from " + str(SOURCE))
    TARGET.write_text(text)
    print("wrote", TARGET)
