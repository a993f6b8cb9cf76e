"""Prints the fault table of tests/test_faults.py (fault mode x transport x policy: what the
library raises, what the server stored, duplicates, what the queue kept):

    .venv/bin/python tests/fault_table.py
"""

import sys
from pathlib import Path

import pytest

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.exit(pytest.main([str(here / "test_faults.py"), "-q", "-p", "no:cacheprovider",
                          "-k", "fault_matrix or fault_table"]))
