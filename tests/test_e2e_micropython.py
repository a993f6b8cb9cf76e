"""End-to-end encryption under real MicroPython (the WASI build, tools/mpyrun.py), from source
and from .mpy: sealed values byte-for-byte equal to CPython's, and what sealing allocates,
bounded (the README's figures). The WASI build has no cryptolib; tests/mpy/e2e_memory.py says
what stands in for it."""

import re
import sys
from pathlib import Path

import pytest

from mpyrun import compile_mpy, run_micropython
from pushover import e2e

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"
PORTABLE = ROOT / "tests" / "portable"
E2E_MEMORY = ROOT / "tests" / "mpy" / "e2e_memory.py"
LIMITS = {"message": 1024, "title": 250, "url": 512, "url_title": 100}

# Beyond the one buffer a field is sealed in and its Base64 text (both in proportion to the
# text), at most this much per field: the cipher object, two sha256 objects and digests, the
# IV, small views. Measured 950-1,000 B per field.
PER_FIELD = 1100


def readme_figures():
    """From the README's "End-to-end encryption" section: the bounds (KB) and measured bytes
    for a full message in ASCII and in four-byte characters, and the import cost from .mpy."""
    text = (ROOT / "README.md").read_text()
    text = " ".join(text.split("## End-to-end encryption", 1)[1].split("\n## ", 1)[0].split())
    ascii_ = re.search(r"at most ([\d.]+) KB in ASCII \(([\d,]+) B measured\)", text)
    wide = re.search(r"at most ([\d.]+) KB in four-byte characters \(4 KB of UTF-8; ([\d,]+) B "
                     r"measured\)", text)
    mpy = re.search(r"`import pushover.e2e` ([\d,]+) B from `.mpy`", text)

    def num(x):
        return int(x.replace(",", ""))

    return {"ascii_bound": float(ascii_.group(1)) * 1024, "ascii": num(ascii_.group(2)),
            "wide_bound": float(wide.group(1)) * 1024, "wide": num(wide.group(2)),
            "import_mpy": num(mpy.group(1))}


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpy-e2e") / "lib"
    compile_mpy(LIB, out)
    assert not list(out.rglob("*.py"))
    return {"source": LIB, "mpy": out}


def proportional(nbytes):
    """Bytes of the sealing buffer (with its 16-byte header) plus its Base64 text."""
    sealed = e2e.sealed_size(nbytes)
    return sealed + 16 + 4 * ((sealed + 2) // 3) + 16


@pytest.mark.parametrize("variant", ["source", "mpy"])
def test_sealed_values_equal_to_cpython(variant, libs):
    script = ("from test_portable_e2e import sealed_digests\n"
              "for v in sealed_digests():\n    print(v)\n")
    res = run_micropython(script, heap="4M", paths=[libs[variant], PORTABLE])
    assert res.ok, res.stderr
    sys.path.insert(0, str(PORTABLE))
    from test_portable_e2e import sealed_digests

    cpython = sealed_digests()
    assert len(cpython) == 3 and all(len(v) >= 108 for v in cpython)
    assert res.stdout.split("\n")[: len(cpython)] == cpython


@pytest.mark.parametrize("variant", ["source", "mpy"])
def test_what_sealing_allocates(variant, libs):
    res = run_micropython(E2E_MEMORY, heap="1M", paths=[libs[variant]])
    assert res.ok, res.stderr
    got = {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", res.stdout)}
    print(variant, got)
    assert got["loaded_by_import_pushover"] == 0
    # from source a new 2.3 KB block of the string pool may land on this import
    assert 0 < got["import"] < (12 * 1024 if variant == "source" else 4 * 1024)
    assert 0 < got["key"] < 1024
    # one full message: the README's bounds and figures, and little beyond the buffer and
    # its Base64 text
    readme = readme_figures()
    assert got["ascii"] <= readme["ascii_bound"] and abs(got["ascii"] - readme["ascii"]) <= 256
    assert got["wide"] <= readme["wide_bound"] and abs(got["wide"] - readme["wide"]) <= 256
    if variant == "mpy":
        assert abs(got["import"] - readme["import_mpy"]) <= 512
    assert proportional(1024) < got["ascii"] <= proportional(1024) + PER_FIELD
    assert proportional(4096) < got["wide"] <= proportional(4096) + PER_FIELD
    # every field at its limit
    for name, width in (("all_ascii", 1), ("all_wide", 4)):
        need = sum(proportional(n * width) for n in LIMITS.values())
        assert need < got[name] <= need + 4 * PER_FIELD, (name, got[name], need)
    # streaming the sealed message adds only what any send of that length does
    assert got["send_wide"] - got["wide"] < 512
