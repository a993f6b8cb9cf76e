"""Puts the device code (lib/), the host shim (tools/shim) and host tools on sys.path."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for sub in ("lib", "tools/firmware", "tools/shim", "tools"):
    path = str(ROOT / sub)
    if path not in sys.path:
        sys.path.insert(0, path)


def pypi_requests():
    """PyPI's `requests`, for the Pushover clients the local server is checked against. Here
    the name `requests` belongs to the stand-in of the firmware's (tools/firmware), which the
    library imports; this loads PyPI's beside it and leaves sys.modules["requests"] as it was.
    A test that runs such a client puts this module there for its duration (monkeypatch)."""
    saved = sys.modules.pop("requests", None)
    path = list(sys.path)
    sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("tools/firmware")]
    try:
        import requests as pypi
    finally:
        sys.path[:] = path
        if saved is not None:
            sys.modules["requests"] = saved
        else:
            sys.modules.pop("requests", None)
    return pypi
