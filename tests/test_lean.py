"""The lean core's bounds (tools/bench_lean.py, also run by `make bench`), under MicroPython:
what `import pushover` keeps and the smallest heap of a text send and of a 1 MB attachment
send, next to a bare streaming sender measured in the same run. Memory, not time: the same
code gives the same figures on a loaded machine."""

import pytest

import bench_lean


def test_the_lean_core_holds_its_bounds():
    m = bench_lean.measure()
    print(bench_lean.report(m))
    assert bench_lean.failures(m) == []
    mpy, source = m["mpy"], m["source"]
    # the bare sender is the yardstick, and both deployments were measured
    assert 0 < mpy["bare-text"]["heap"] < mpy["text"]["heap"]
    assert source["text"]["heap"] >= mpy["text"]["heap"], "source should not be leaner"
    # switching the collector off never lets a send fit a smaller heap (a search step apart)
    for mode in ("text", "attach", "bare-text", "bare-attach"):
        assert mpy[mode]["heap_off"] + 512 >= mpy[mode]["heap"], mode


def test_the_bounds_can_fail():
    """failures() reports a figure past each bound (a bound that cannot fail checks nothing)."""
    row = {"heap": 10_000, "import": 0, "send": 0}
    good = {"mpy": {"keeps": 1000, "text": dict(row), "attach": dict(row, heap=11_000),
                    "again": dict(row, send=2000), "bare-text": dict(row),
                    "bare-attach": dict(row, send=1000)}}
    assert bench_lean.failures(good) == []
    fat = {"mpy": dict(good["mpy"], keeps=bench_lean.BOUNDS["keeps"] + 1)}
    assert "keeps" in bench_lean.failures(fat)[0]
    slow = {"mpy": dict(good["mpy"], text=dict(row, heap=12_000))}
    assert "more heap than an attachment" in bench_lean.failures(slow)[0]
    big = {"mpy": dict(good["mpy"], attach=dict(row, heap=10_000 + 28 * 1024))}
    assert "attach send" in bench_lean.failures(big)[0]
    grown = {"mpy": dict(good["mpy"], again=dict(row, send=1000 + 2 * 1024 + 1))}
    assert "steady attachment send" in bench_lean.failures(grown)[0]


def _fake_binary(tmp_path):
    """An executable with a MicroPython binary's command line (tests/fake_micropython.py)."""
    import sys
    from pathlib import Path

    exe = tmp_path / "micropython"
    exe.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (
        sys.executable, Path(__file__).resolve().parent / "fake_micropython.py"))
    exe.chmod(0o755)
    return exe


def test_a_real_port_is_driven_by_its_command_line(tmp_path):
    """--micropython: the guest runs under a binary given by path, with MICROPYPATH, -X heapsize
    and the attachment as a host path; too small a heap is a failed run, and the search of the
    smallest heap works through it. (The real unix port is not here: a command-line stand-in
    over the WASI build drives the same code.)"""
    import shutil
    from pathlib import Path

    from mpyrun import compile_mpy, smallest_heap

    root = Path(__file__).resolve().parent.parent
    run = bench_lean.native(_fake_binary(tmp_path), requests_dir=tmp_path / "fw")
    compile_mpy(root / "tools" / "firmware", tmp_path / "fw")  # stands for micropython-lib's
    compile_mpy(root / "lib", tmp_path / "lib")
    guest = tmp_path / "guest"
    guest.mkdir()
    shutil.copy(bench_lean.SCRIPT, guest / bench_lean.SCRIPT.name)
    att = tmp_path / "att.bin"
    att.write_bytes(b"\xff\xd8\xff" + bytes(5000))
    kw = {"paths": [tmp_path / "lib", guest]}
    main = "import lean_memory\n"
    row = bench_lean._parse(run(main, heap=1 << 20, args=["text", "off", str(att)], **kw))
    assert row["ok"] == 1 and row["send"] > 0
    assert not run(main, heap=8192, args=["text", "on", str(att)], **kw).ok
    heap = smallest_heap(main, 8192, 96 * 1024, step=4096, run=run,
                         args=["attach", "on", str(att)], **kw)
    assert 8192 < heap < 96 * 1024


def _recorder(calls, tag, has_package=False):
    """A runner that records (tag, mode, paths) and answers as a binary would: `has_package`
    says whether `import pushover` works with nothing on the path (frozen in)."""
    from types import SimpleNamespace

    def run(script, heap, paths=(), mounts=None, args=()):
        if not args:  # the check for a frozen package
            return SimpleNamespace(ok=has_package, stdout="", stderr="", trapped=False)
        calls.append((tag, args[0], [str(p) for p in paths]))
        out = ("keeps=100" if args[0] == "import" else "sending\noutcome=1 unknown=0 read=0"
               if args[0].startswith("survive") else "ok=1 import=10 send=20")
        return SimpleNamespace(ok=True, stdout=out, stderr="", trapped=False)

    return run


def test_the_frozen_deployment_is_measured_from_the_firmware_alone():
    """--frozen BINARY: the frozen row runs on that second binary and sees only .frozen and the
    guest, never lib/ or the stand-in; the other rows run on the first binary (recording
    runners stand for the binaries: this checks the plumbing, not a figure)."""
    calls = []
    m = bench_lean.measure(run=_recorder(calls, "plain"),
                           frozen=_recorder(calls, "frozen", has_package=True))
    assert set(m) == {"mpy", "source", "frozen"}
    assert m["frozen"]["keeps"] == 100 and m["frozen"]["attach"]["heap_off"] == 4096
    frozen = [paths for tag, _, paths in calls if tag == "frozen"]
    assert frozen and all(len(p) == 2 and p[0] == ".frozen" and p[1].endswith("mpy")
                          for p in frozen)
    assert all(paths[0] != ".frozen" for tag, _, paths in calls if tag == "plain")
    assert "frozen" in bench_lean.report(m)


def test_the_fw_mpy_row_runs_the_compiled_package_on_the_requests_firmware():
    """--fw-requests BINARY: the .mpy package (and the guest) on that binary, with no
    stand-in of requests on the path (the binary has it), and refused if the binary has
    the package frozen in too."""
    calls = []
    m = bench_lean.measure(run=_recorder(calls, "plain"),
                           fw_requests=_recorder(calls, "fw"))
    assert set(m) == {"mpy", "source", "fw-mpy"}
    fw = [paths for tag, _, paths in calls if tag == "fw"]
    assert fw and all(len(p) == 2 and p[0].endswith("lib") and p[1].endswith("mpy")
                      for p in fw)
    assert "fw-mpy" in bench_lean.report(m)
    with pytest.raises(RuntimeError, match="--fw-requests"):
        bench_lean.measure(run=_recorder([], "plain"),
                           fw_requests=_recorder([], "fw", has_package=True))


def test_the_mpy_rows_refuse_a_binary_with_the_package_frozen_in():
    """Its names would be in the firmware's qstr pool: a .mpy loaded there would not pay for
    them, and its figures would be too small (3.3 KB of `import pushover`, measured)."""
    calls = []
    with pytest.raises(RuntimeError, match="frozen in"):
        bench_lean.measure(run=_recorder(calls, "plain", has_package=True),
                           frozen=_recorder(calls, "frozen", has_package=True))
    assert calls == []  # refused before anything is measured


def test_the_native_bounds_can_fail():
    """native_failures() (make bench-native) reports each figure past its bound, and a
    collector that does not help."""
    row = {"heap": 10_000, "heap_off": 12_000, "import": 0, "send": 0}

    def dep(**kw):
        return dict({"keeps": 1000, "text": dict(row), "attach": dict(row),
                     "bare-text": dict(row), "bare-attach": dict(row)}, **kw)

    good = {"mpy": dep(), "fw-mpy": dep(), "frozen": dep(), "runtime": "x"}
    assert bench_lean.native_failures(good) == []
    b = bench_lean.NATIVE_BOUNDS
    cases = [
        ({"mpy": dep(keeps=b["keeps"] + 1)}, "mpy: import pushover keeps"),
        ({"frozen": dep(keeps=b["frozen_keeps"] + 1)}, "frozen: import pushover keeps"),
        ({"fw-mpy": dep(attach=dict(row, heap=10_000 + b["fw_attach_over_bare"] + 1))},
         "fw-mpy: attach"),
        ({"mpy": dep(text=dict(row, heap=10_000 + b["text_over_bare"] + 1))}, "mpy: text"),
        ({"frozen": dep(attach=dict(row, heap=10_000 + b["frozen_attach_over_bare"] + 1))},
         "frozen: attach"),
        ({"mpy": dep(attach=dict(row, heap_off=10_000))}, "collector did not"),
        ({"frozen": dep(survived={"runs": 9, "sent": 4, "late": 2,
                                  "escaped": [("text", 9000, "a MemoryError")]})},
         "frozen: text send on a 9000 B heap ended in a MemoryError"),
        ({"mpy": dep(survived={"runs": 9, "sent": 0, "late": 2, "escaped": []})},
         "checked nothing"),
        ({"mpy": dep(survived={"runs": 9, "sent": 4, "late": 0, "escaped": []})},
         "late paths went unchecked"),
    ]
    for change, words in cases:
        bad = bench_lean.native_failures(dict(good, **change))
        assert len(bad) == 1 and words in bad[0], (words, bad)


def test_a_native_run_looks_in_the_binarys_frozen_modules_last(tmp_path):
    """The runner's MICROPYPATH: the given folders, then the requests folder, then .frozen
    (where the native core has json and binascii, which a firmware has in C)."""
    exe = tmp_path / "micropython"
    exe.write_text('#!/bin/sh\necho "$MICROPYPATH"\n')
    exe.chmod(0o755)
    run = bench_lean.native(exe, requests_dir=tmp_path / "fw")
    res = run("print(1)\n", heap=4096, paths=[tmp_path / "lib", tmp_path / "guest"])
    assert res.ok
    assert res.stdout.strip().split(":") == [str(tmp_path / "lib"), str(tmp_path / "guest"),
                                             str(tmp_path / "fw"), ".frozen"]
