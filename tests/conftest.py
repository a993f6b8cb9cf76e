"""Puts the device code (lib/), the host shim (tools/shim) and host tools on sys.path."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for sub in ("lib", "tools/firmware", "tools/shim", "tools"):
    path = str(ROOT / sub)
    if path not in sys.path:
        sys.path.insert(0, path)
