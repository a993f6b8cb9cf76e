"""Runs the portable tests under MicroPython: every test_* function of the modules named on
the command line (default: all test_portable_*.py here). Prints one line per failure and a
closing 'N passed, N failed' line; exits 1 if anything failed."""

import os
import sys


def main(names):
    passed = failed = 0
    for name in names:
        module = __import__(name)
        for attr in sorted(dir(module)):
            if not attr.startswith("test_"):
                continue
            try:
                getattr(module, attr)()
                passed += 1
            except Exception as e:  # report and go on
                failed += 1
                print("FAIL", name + "." + attr, type(e).__name__, e)
    print("%d passed, %d failed" % (passed, failed))
    return failed


if __name__ == "__main__":
    here = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
    names = sys.argv[1:] or [f[:-3] for f in os.listdir(here)
                             if f.startswith("test_portable") and f.endswith(".py")]
    sys.exit(1 if main(names) else 0)
