"""package.json is what `mpremote mip install github:OWNER/REPO` reads: every file it names
exists, the whole library (and its certificate roots) is in it, the version is the library's,
and the files it installs form a package that imports under real MicroPython."""

import json
import re
import shutil
from pathlib import Path

from mpyrun import run_micropython

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = json.loads((ROOT / "package.json").read_text())


def test_every_named_file_exists():
    missing = [src for _dest, src in PACKAGE["urls"] if not (ROOT / src).is_file()]
    assert missing == []


def test_the_whole_library_is_installed_under_lib_pushover():
    on_disk = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "lib" / "pushover").iterdir()
                     if p.suffix in (".py", ".pem"))
    assert sorted(src for _dest, src in PACKAGE["urls"]) == on_disk
    assert "lib/pushover/roots.pem" in on_disk
    for dest, src in PACKAGE["urls"]:
        assert dest == src.removeprefix("lib/"), (dest, src)


def test_version_is_the_library_version():
    text = (ROOT / "lib" / "pushover" / "__init__.py").read_text()
    (version,) = re.findall(r'^__version__ = "([^"]+)"$', text, re.M)
    assert PACKAGE["version"] == version


def test_requests_dependency_from_micropython_lib():
    # requests is what the library imports first; urequests is only its alias
    assert {name for name, _v in PACKAGE["deps"]} >= {"requests"}


def test_installed_files_import_under_micropython(tmp_path):
    """Lay the files out as mip would (in /lib), then import and use them on MicroPython."""
    lib = tmp_path / "lib"
    for dest, src in PACKAGE["urls"]:
        (lib / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / src, lib / dest)
    script = tmp_path / "main.py"
    script.write_text(
        "import pushover\n"
        "from pushover import sock\n"
        "po = pushover.Pushover('a' * 30, 'u' * 30, transport=sock.SocketTransport())\n"
        "body = po.form('hello', title='t')\n"
        "print(pushover.__version__, body.length, len(sock.default_roots()) > 1000)\n")
    res = run_micropython(script, heap="256K", paths=[lib])
    assert res.ok, res.stderr
    assert res.stdout.split() == [PACKAGE["version"], str(len("message=hello&title=t&token="
                                                              + "a" * 30 + "&user=" + "u" * 30)),
                                  "True"]
