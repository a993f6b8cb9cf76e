"""Type-check the device code (lib/ and examples/) against the MicroPython ESP32 stubs.

    python tools/typecheck.py              # pyright; prints each error, exits 1 if any
    python tools/typecheck.py --json       # the errors as JSON (for tests)

The stubs come from two PyPI packages installed in the venv: `micropython-esp32-stubs`
(machine, network, esp32, time, socket, urequests, ... as on MicroPython 1.29 for
ESP32_GENERIC) and `micropython-stdlib-stubs` (a reduced typeshed `stdlib`). CPython's own
typeshed is NOT used: the stubs' `stdlib` becomes pyright's `typeshedPath`, so calling
something MicroPython lacks (e.g. `time.monotonic`) is an error. Where a stub is narrower
than MicroPython's documentation, CORRECTIONS below widens it, each with its reason.

Everything is laid out afresh under build/typecheck/ on each run:

    typeshed/stdlib/      micropython-stdlib-stubs' stdlib (pyright's typeshedPath)
    typings/              the ESP32 stubs and _mpy_shed (pyright's stubPath)
    __builtins__.pyi      the stubs' MicroPython builtins (const, ptr, ...) at the project root
    extra/                modules the firmware does not have but the examples import:
                          board.py   <- boards/<board>/board.py (--board, default esp32cam)
                          settings.py <- examples/settings_template.py
                          camera.py  <- tools/shim/camera.py (the camera driver's surface)
    venv/                 an empty environment, so no CPython package in .venv is visible
    pyrightconfig.json

pyright comes from the PyPI package `pyright`, a wrapper that fetches the pyright npm package
(and uses the system's node) the first time it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "typecheck"
CHECKED = ("lib", "examples")
STUBS = "micropython-esp32-stubs"
STDLIB_STUBS = "micropython-stdlib-stubs"

# Where the stubs are narrower than MicroPython itself, as its documentation states:
# (stub file, line after which to insert, text inserted, why).
CORRECTIONS = (
    ("tls.pyi", "class SSLContext:", "    verify_mode: int\n",
     "tls.SSLContext.verify_mode is documented (MicroPython 1.23+) but missing from the stub"),
)


class SetupError(RuntimeError):
    """The stubs or pyright are missing."""


def _dist_files(name: str):
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise SetupError(f"{name} is not installed: pip install {name}") from None
    return dist, [f for f in (dist.files or []) if str(f).endswith(".pyi")
                  or str(f).endswith("VERSIONS")]


def _copy(src: Path, dst: Path):
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def prepare(board: str = "esp32cam", out: Path = OUT, include=None) -> Path:
    """Lay out `out` (build/typecheck) and return the path of its pyrightconfig.json, set to
    check `include` (folders or files; default lib/ and examples/)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    dist, files = _dist_files(STUBS)
    for f in files:
        src = Path(dist.locate_file(f))
        rel = Path(str(f))
        if rel.name == "__builtins__.pyi":
            _copy(src, out / rel.name)
        else:
            _copy(src, out / "typings" / rel)
    dist, files = _dist_files(STDLIB_STUBS)
    for f in files:
        src = Path(dist.locate_file(f))
        rel = Path(str(f))
        if rel.parts[0] == "stdlib":
            _copy(src, out / "typeshed" / rel)
        elif rel.parts[0] == "_mpy_shed":
            _copy(src, out / "typings" / rel)
    for name, anchor, text, _why in CORRECTIONS:
        stub = out / "typings" / name
        lines = stub.read_text().splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.startswith(anchor)), None)
        if at is None:
            raise SetupError(f"stub correction for {name} no longer applies: check it")
        if not any(line.strip() == text.strip() for line in lines):
            lines.insert(at + 1, text)
            stub.write_text("".join(lines))
    if not (out / "typeshed" / "stdlib" / "builtins.pyi").exists():
        raise SetupError(f"{STDLIB_STUBS} has no stdlib/builtins.pyi: unexpected layout")

    board_file = ROOT / "boards" / board / "board.py"
    if not board_file.exists():
        raise SetupError(f"no board {board!r}: {board_file} does not exist")
    _copy(board_file, out / "extra" / "board.py")
    _copy(ROOT / "examples" / "settings_template.py", out / "extra" / "settings.py")
    _copy(ROOT / "tools" / "shim" / "camera.py", out / "extra" / "camera.py")
    (out / "venv" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)

    config = {
        "include": [os.path.relpath(ROOT / d, out) for d in (include or CHECKED)],
        "exclude": ["**/__pycache__"],
        "typeshedPath": "typeshed",
        "stubPath": "typings",
        "extraPaths": ["extra", os.path.relpath(ROOT / "lib", out),
                       os.path.relpath(ROOT / "examples", out)],
        "venvPath": ".",
        "venv": "venv",
        "pythonVersion": "3.11",
        "pythonPlatform": "Linux",
        "typeCheckingMode": "basic",
        # MicroPython functions typed `bytes` in the stubs take any buffer (bytearray,
        # memoryview), as on CPython before PEP 688: keep pyright's promotion to bytes.
        "disableBytesTypePromotions": False,
        # the stubs have no sources next to them: that is their nature, not a problem
        "reportMissingModuleSource": "none",
    }
    path = out / "pyrightconfig.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def pyright_command() -> list[str]:
    exe = Path(sys.executable).parent / "pyright"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("pyright")
    if found:
        return [found]
    raise SetupError("pyright is not installed: pip install pyright")


def run(board: str = "esp32cam", include=None, out: Path = OUT) -> tuple[list[dict], dict]:
    """(error diagnostics, summary) from one pyright run over lib/ and examples/ (or
    `include`). Each error is {"file" (relative to the repository), "line", "rule",
    "message"}."""
    config = prepare(board, out, include)
    cmd = pyright_command() + ["--outputjson", "-p", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=config.parent, timeout=600)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise SetupError("pyright did not run (exit %d):\n%s%s"
                         % (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])) from None
    errors = []
    for d in report.get("generalDiagnostics", []):
        if d.get("severity") != "error":
            continue
        try:
            file = str(Path(d["file"]).resolve().relative_to(ROOT))
        except ValueError:
            file = d["file"]
        errors.append({"file": file, "line": d["range"]["start"]["line"] + 1,
                       "rule": d.get("rule", ""), "message": d["message"]})
    return errors, report.get("summary", {})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="esp32cam", help="boards/<BOARD>/board.py to check with")
    ap.add_argument("--json", action="store_true", help="print the errors as JSON")
    args = ap.parse_args(argv)
    try:
        errors, summary = run(args.board)
    except SetupError as e:
        print("typecheck:", e, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"errors": errors, "summary": summary}, indent=2))
    else:
        for e in errors:
            print(f"{e['file']}:{e['line']}: {e['message']} [{e['rule']}]")
        print(f"{len(errors)} errors in {summary.get('filesAnalyzed', '?')} files "
              f"(pyright, micropython-esp32-stubs)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
