"""Prints the fault table: every fault mode of the local server x transport x policy, what the
library raises, what the server stored, duplicates, what the queue kept. It runs the cases of
tests/test_faults.py (whose test asserts the rules on each) and prints what they did.

    .venv/bin/python tools/fault_table.py
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for sub in ("lib", "tools/firmware", "tools/shim", "tools", "tests"):
    sys.path.insert(0, str(ROOT / sub))

from live import FAULT_MODES, TRANSPORTS  # noqa: E402
from test_faults import POLICIES, format_table, run_matrix_case, table_row  # noqa: E402


def main():
    rows = []
    for mode in FAULT_MODES:
        for transport in TRANSPORTS:
            for policy in POLICIES:
                with tempfile.TemporaryDirectory() as folder:
                    r = run_matrix_case(Path(folder), mode, transport, policy)
                rows.append(table_row(r, mode, transport, policy))
    print(format_table(rows))
    print("(stored: good messages stored at least once, of 3; left in queue and set aside: "
          "after the flush with the fault on, of 4 queued, one of them refused by the server)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
