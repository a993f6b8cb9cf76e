"""python -m localpushover (run from tools/, or with tools/ on the path)."""

import sys

from .cli import main

sys.exit(main())
