"""A stand-in of a real MicroPython binary's command line for tests of the runners that drive
one (tools/bench_lean.py --micropython): `fake_micropython.py -X heapsize=N SCRIPT ARGS...`
with MICROPYPATH, run by the WASI build. A host file named in ARGS is made visible at the
same path. It models only that command line, not a real port's collector."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from mpyrun import run_micropython  # noqa: E402


def main(argv):
    heap = None
    while argv and argv[0] == "-X":
        option = argv[1]
        argv = argv[2:]
        if option.startswith("heapsize="):
            heap = int(option.split("=", 1)[1])
    script, args = Path(argv[0]), argv[1:]
    # .frozen names what a real binary has built in; this one has nothing frozen
    paths = [Path(p) for p in os.environ.get("MICROPYPATH", "").split(":")
             if p and p != ".frozen"]
    mounts = {str(Path(a).parent): Path(a).parent for a in args
              if a.startswith("/") and Path(a).is_file()}
    res = run_micropython(script, heap=heap or 1 << 20, paths=paths, mounts=mounts,
                          args=args)
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    return res.returncode if res.returncode else (134 if res.trapped else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
