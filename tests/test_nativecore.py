"""tools/nativecore: what can be checked without building it (the build needs gcc with 32-bit
support and fetches MicroPython's core source: `make bench-native`, not `make test`)."""

import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "tools" / "nativecore"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_binary_freezes_what_it_stands_for(tmp_path, monkeypatch):
    """micropython32 freezes json and binascii (a firmware has them in C); the stand-in of
    requests only micropython32-requests (as ESP32 firmware freezes requests) and
    micropython32-frozen; the library, whose names a frozen copy would put into the
    firmware's qstr pool, only micropython32-frozen."""
    build = load(NATIVE / "build.py", "nativecore_build")
    monkeypatch.setattr(build, "OUT", tmp_path)
    pylib = (NATIVE / "pylib", ("json.py", "binascii.py"))
    stand_in = (ROOT / "tools" / "firmware", ("requests.py", "urequests.py"))
    paths = set()
    for kw, want in (({}, [pylib]), ({"requests": True}, [stand_in, pylib]),
                     ({"requests": True, "library": True},
                      [(ROOT / "lib", "pushover"), stand_in, pylib])):
        calls = []
        path = build.manifest(**kw)
        paths.add(path)
        exec(path.read_text(),
             {"freeze": lambda path, script, calls=calls: calls.append((Path(path), script))})
        assert calls == want
        for where, script in calls:
            for name in (script,) if isinstance(script, str) else script:
                assert (where / name).exists(), (where, name)
    assert len(paths) == 3, "each binary has a manifest of its own"


pylib_json = load(NATIVE / "pylib" / "json.py", "pylib_json")
pylib_binascii = load(NATIVE / "pylib" / "binascii.py", "pylib_binascii")

values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(value=values, ascii_only=st.booleans())
def test_pylib_json_loads_what_json_dumps(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert pylib_json.loads(text) == value
    assert pylib_json.loads(text.encode()) == value


@pytest.mark.parametrize("bad", ["", "{", '{"a" 1}', "[1,]x", "tru", '{"a": "b', "[1"])
def test_pylib_json_refuses_what_is_not_json(bad):
    """With a ValueError only, as MicroPython's json does (no other exception escapes)."""
    with pytest.raises(ValueError):
        pylib_json.loads(bad)


@given(st.binary(max_size=64))
def test_pylib_hexlify_is_binascii_hexlify(data):
    import binascii

    assert pylib_binascii.hexlify(data) == binascii.hexlify(data)


def test_the_port_is_the_projects_own_files():
    names = sorted(p.name for p in (NATIVE / "port").iterdir())
    assert names == ["Makefile", "main.c", "mpconfigport.h", "mphalport.h", "qstrdefsport.h"]
