"""The lean core's bounds (tools/bench_lean.py, also run by `make bench`), under MicroPython:
what `import pushover` keeps and the smallest heap of a text send and of a 1 MB attachment
send, next to a bare streaming sender measured in the same run. Memory, not time: the same
code gives the same figures on a loaded machine."""

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
