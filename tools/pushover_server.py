"""The local Pushover server's entry point, kept for `make server`, tools/demo.py and older
imports; the server itself is the package tools/localpushover/ (see its docstring).

    python tools/pushover_server.py [--host 127.0.0.1] [--port 8765] [--data DIR] ...
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localpushover import (  # noqa: E402, F401
    FAULT_MODES,
    MAX_ATTACHMENT,
    MAX_BODY,
    MAX_SMALL_BODY,
    MAX_TEXT_BODY,
    SOUNDS,
    PushoverServer,
    is_loopback,
    main,
    mask,
    mask_text,
)

_is_loopback = is_loopback  # the name older tests and scripts use

if __name__ == "__main__":
    sys.exit(main())
