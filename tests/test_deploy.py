"""tools/deploy.py without a board: the exact mpremote commands of a dry run for every board,
the -march each board gets, the .mpy files it builds (real, loadable .mpy files), the
refusal of a missing or unfilled settings file; and the boards/ folders themselves (manifest
paths, one board.py interface)."""

import ast
import importlib.util
import shlex
import subprocess
from pathlib import Path

import pytest

import deploy
from mpyrun import run_micropython

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib" / "pushover"
BOARDS = sorted(p.name for p in (ROOT / "boards").iterdir() if (p / "board.py").exists())
EXPECTED_MARCH = {"esp32": "xtensawin", "esp32s3_psram": "xtensawin", "esp32cam": "xtensawin",
                  "esp32c3": "rv32imc"}
ARCH_CODE = {"xtensawin": 10, "rv32imc": 11}  # mpy-cross's numbering (py/persistentcode.h)
TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
MODULES = sorted(p.stem for p in LIB.glob("*.py"))


@pytest.fixture
def settings_file(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text('WIFI_SSID = "home"\nWIFI_PASSWORD = "secret"\n'
                    f'PUSHOVER_TOKEN = "{TOKEN}"\nPUSHOVER_USER = "{USER}"\nAPI_URL = None\n')
    return path


def dry_run(capsys, *args):
    code = deploy.main([*args, "--dry-run"])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def mpy_header(path):
    head = path.read_bytes()[:4]
    return chr(head[0]), head[1], head[2] >> 2, head[2] & 3, head[3]


def test_every_board_folder_has_an_arch():
    assert BOARDS == sorted(EXPECTED_MARCH)
    assert deploy.MARCH == EXPECTED_MARCH


@pytest.mark.parametrize("board", BOARDS)
def test_dry_run_prints_the_exact_commands(board, settings_file, tmp_path, capsys):
    build = tmp_path / "build"
    code, lines, err = dry_run(capsys, "--board", board, "--port", "/dev/ttyUSB0",
                               "--settings", str(settings_file), "--build-dir", str(build))
    assert code == 0, err
    base = "mpremote connect /dev/ttyUSB0 "
    files = " ".join(f"{build}/pushover/{m}.mpy" for m in MODULES)
    assert lines == [
        base + "exec 'import os;\"lib\" in os.listdir(\"/\") or os.mkdir(\"/lib\");"
               "E=\"pushover\" in os.listdir(\"/lib\");[os.remove(\"/lib/pushover/\"+n) for n in "
               "(os.listdir(\"/lib/pushover\") if E else [])];E or os.mkdir(\"/lib/pushover\")'",
        base + f"fs cp {files} lib/pushover/roots.pem :/lib/pushover/",
        base + f"fs cp boards/{board}/board.py :/board.py",
        base + f"fs cp {settings_file} :/settings.py",
        base + "exec 'import pushover; print(pushover.__version__)'",
    ]
    assert f"-march={EXPECTED_MARCH[board]}" in err


def test_dry_run_with_requests_and_an_example(settings_file, tmp_path, capsys):
    code, lines, err = dry_run(capsys, "--board", "esp32cam", "--settings", str(settings_file),
                               "--build-dir", str(tmp_path), "--install-requests",
                               "--example", "camera_motion")
    assert code == 0, err
    assert lines[4:] == [
        "mpremote connect auto mip install requests",
        "mpremote connect auto fs cp examples/wifi.py :/wifi.py",
        "mpremote connect auto fs cp examples/camera_motion.py :/main.py",
        "mpremote connect auto exec 'import pushover; print(pushover.__version__)'",
    ]


def spy_on_commands(monkeypatch):
    """The command lines deploy runs, recorded (and run)."""
    calls = []
    real_run = subprocess.run

    def spy(cmd, *a, **kw):
        calls.append(cmd)
        return real_run(cmd, *a, **kw)

    monkeypatch.setattr(deploy.subprocess, "run", spy)
    return calls


@pytest.mark.parametrize("board", BOARDS)
def test_mpy_files_are_real_mpy_for_the_board(board, settings_file, tmp_path, capsys,
                                              monkeypatch):
    calls = spy_on_commands(monkeypatch)
    code, _, err = dry_run(capsys, "--board", board, "--settings", str(settings_file),
                           "--build-dir", str(tmp_path))
    assert code == 0, err
    assert len(calls) == len(MODULES)
    assert all(f"-march={EXPECTED_MARCH[board]}" in cmd for cmd in calls)
    assert all(deploy.OPTIMISE in cmd for cmd in calls)
    built = sorted((tmp_path / "pushover").iterdir())
    assert [p.name for p in built] == [m + ".mpy" for m in MODULES]
    for path in built:
        magic, version, arch, sub, int_bits = mpy_header(path)
        assert (magic, version) == ("M", 6), path
        # the library is plain bytecode: no native code, so no arch is recorded (0) and the
        # file loads on any port; a file with native code would carry the board's arch
        assert arch in (0, ARCH_CODE[EXPECTED_MARCH[board]]), path
        assert int_bits <= 31, path  # fits a 32-bit port's small ints


@pytest.mark.parametrize("board", ["esp32", "esp32c3"])
def test_march_reaches_native_code(board, tmp_path, monkeypatch):
    """A module with @micropython.native, compiled the way deploy compiles the library,
    records the board's arch in its header: the -march flag really is the one used."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "fast.py").write_text("import micropython\n\n@micropython.native\n"
                                 "def add(a, b):\n    return a + b\n")
    monkeypatch.setattr(deploy, "LIB", src)
    (out,) = deploy.compile_library(board, tmp_path / "out")
    magic, version, arch, sub, _ = mpy_header(out)
    assert (magic, version, arch) == ("M", 6, ARCH_CODE[EXPECTED_MARCH[board]])
    assert sub == 3  # mpy v6.3: MicroPython 1.23 and later


@pytest.mark.parametrize("line_numbers", [False, True])
def test_line_numbers_only_when_asked(line_numbers, tmp_path, monkeypatch):
    """By default the .mpy files carry no line numbers (heap on the board): a traceback
    through them under MicroPython shows line 1; with --line-numbers it shows the real line."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "deep.py").write_text("def fail():\n\n\n\n    raise ValueError('here')\n")
    monkeypatch.setattr(deploy, "LIB", src)
    deploy.compile_library("esp32", tmp_path / "out", line_numbers)
    script = tmp_path / "main.py"
    script.write_text("import sys\nfrom pushover import deep\ntry:\n    deep.fail()\n"
                      "except ValueError as e:\n    sys.print_exception(e)\n")
    res = run_micropython(script, heap="256K", paths=[tmp_path / "out"])
    assert res.ok, res.stderr
    shown = res.stdout + res.stderr
    assert 'File "pushover/deep.py", line ' + ("5" if line_numbers else "1") + "," in shown, shown


def test_line_numbers_flag_reaches_mpy_cross(settings_file, tmp_path, capsys, monkeypatch):
    calls = spy_on_commands(monkeypatch)
    code, _, err = dry_run(capsys, "--board", "esp32", "--settings", str(settings_file),
                           "--build-dir", str(tmp_path), "--line-numbers")
    assert code == 0, err
    assert calls and not any(deploy.OPTIMISE in cmd for cmd in calls)
    assert deploy.OPTIMISE not in err


def test_compiled_library_imports_under_micropython(tmp_path):
    """What deploy checks on the board, here under real MicroPython (the WASI build): the
    .mpy package imports and reports the library's version."""
    build = tmp_path / "mpylib"
    deploy.compile_library("esp32", build)
    script = tmp_path / "check.py"
    script.write_text(deploy.CHECK.replace("; ", "\n") + "\nprint(pushover.__file__)\n")
    res = run_micropython(script, heap="256K", paths=[build])
    assert res.ok, res.stderr
    version, where = res.stdout.split()
    assert version == deploy.library_version() == __import__("pushover").__version__
    assert where.endswith("pushover/__init__.mpy")


def test_prepare_one_liner_under_micropython(tmp_path):
    """The exec'd line that makes /lib/pushover, run twice under real MicroPython (with / moved
    to a mapped folder): first on an empty file system, then with a stale .py present."""
    line = (deploy.PREPARE.replace('"/lib', '"/tmp/lib').replace('listdir("/")', 'listdir("/tmp")')
            .replace('mkdir("/lib")', 'mkdir("/tmp/lib")'))
    assert "/tmp/lib/pushover" in line and '"/"' not in line
    data = tmp_path / "fs"
    data.mkdir()
    script = tmp_path / "prep.py"
    script.write_text(line + "\nimport os\nprint(sorted(os.listdir('/tmp/lib/pushover')))\n")
    res = run_micropython(script, heap="64K", mounts={"/tmp": data})
    assert res.ok and res.stdout.strip() == "[]", res.stderr
    (data / "lib" / "pushover" / "form.py").write_text("stale = True\n")
    res = run_micropython(script, heap="64K", mounts={"/tmp": data})
    assert res.ok and res.stdout.strip() == "[]", res.stderr


def test_missing_settings_is_refused_before_anything(tmp_path, capsys):
    code, lines, err = dry_run(capsys, "--board", "esp32", "--settings",
                               str(tmp_path / "settings.py"), "--build-dir", str(tmp_path / "b"))
    assert code == 2 and lines == []
    assert "no settings file at" in err
    assert "examples/settings_template.py" in err and ".gitignore" in err
    assert not (tmp_path / "b").exists()  # nothing compiled, nothing printed


def test_template_placeholders_are_refused(tmp_path, capsys):
    code, lines, err = dry_run(capsys, "--board", "esp32", "--settings",
                               str(ROOT / "examples" / "settings_template.py"),
                               "--build-dir", str(tmp_path))
    assert code == 2 and lines == []
    assert "PUSHOVER_TOKEN" in err and "placeholder" in err


def test_settings_missing_a_name_is_refused(tmp_path, capsys):
    path = tmp_path / "settings.py"
    path.write_text(f'WIFI_SSID = "x"\nPUSHOVER_TOKEN = "{TOKEN}"\nPUSHOVER_USER = "{USER}"\n')
    code, _, err = dry_run(capsys, "--board", "esp32", "--settings", str(path),
                           "--build-dir", str(tmp_path))
    assert code == 2 and "WIFI_PASSWORD" in err


def test_real_run_executes_the_dry_run_commands(settings_file, tmp_path, capsys, monkeypatch):
    """Without --dry-run the same commands run, in order, and the version printed by the
    board is checked (mpremote stood in for by a recorder here)."""
    code, expected, _ = dry_run(capsys, "--board", "esp32", "--settings", str(settings_file),
                                "--build-dir", str(tmp_path))
    assert code == 0
    ran = []

    class Done:
        returncode = 0
        stdout = deploy.library_version() + "\n"

    def fake_run(cmd, *a, **kw):
        ran.append(cmd)
        return Done()

    built = sorted((tmp_path / "pushover").glob("*.mpy"))  # by the dry run above
    monkeypatch.setattr(deploy, "compile_library", lambda board, out, line_numbers: built)
    monkeypatch.setattr(deploy.subprocess, "run", fake_run)
    monkeypatch.setattr(deploy.shutil, "which", lambda *a, **kw: "/bin/mpremote")
    assert deploy.main(["--board", "esp32", "--settings", str(settings_file),
                        "--build-dir", str(tmp_path)]) == 0
    assert [shlex.join(c) for c in ran] == expected


def test_wrong_version_on_the_board_fails(settings_file, tmp_path, monkeypatch, capsys):
    deploy.compile_library("esp32", tmp_path)

    class Reply:
        returncode = 0
        stdout = "0.0.1\n"

    monkeypatch.setattr(deploy, "compile_library", lambda board, out, line_numbers: sorted(
        (tmp_path / "pushover").glob("*.mpy")))
    monkeypatch.setattr(deploy.subprocess, "run", lambda cmd, *a, **kw: Reply())
    monkeypatch.setattr(deploy.shutil, "which", lambda *a, **kw: "/bin/mpremote")
    assert deploy.main(["--board", "esp32", "--settings", str(settings_file)]) == 2
    assert "0.0.1" in capsys.readouterr().err


# ---------------------------------------------------------------- boards/


def load_board(name):
    spec = importlib.util.spec_from_file_location(f"board_{name}",
                                                  ROOT / "boards" / name / "board.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def annotations(name):
    tree = ast.parse((ROOT / "boards" / name / "board.py").read_text())
    return {node.target.id: ast.unparse(node.annotation) for node in tree.body
            if isinstance(node, ast.AnnAssign)}


def test_boards_share_one_interface():
    """Every board.py sets the same names with the same declared types, so an example works
    with any of them and one type check covers all."""
    first = annotations(BOARDS[0])
    for name in BOARDS[1:]:
        assert annotations(name) == first, name
    for name in BOARDS:
        board = load_board(name)
        assert board.NAME == name
        assert isinstance(board.BUFSIZE, int) and 64 <= board.BUFSIZE <= 65536
        assert board.WAKE in (None, "ext0", "gpio")
        assert board.DOOR_OPEN_LEVEL in (0, 1)


def test_board_specifics():
    c3, cam, s3 = load_board("esp32c3"), load_board("esp32cam"), load_board("esp32s3_psram")
    assert c3.WAKE == "gpio" and c3.HAS_PSRAM is False
    assert c3.DOOR_PIN is not None and 0 <= c3.DOOR_PIN <= 5  # only GPIO 0-5 wake a C3
    assert s3.HAS_PSRAM and s3.BUFSIZE > load_board("esp32").BUFSIZE
    assert cam.PIR_PIN is not None and cam.CAMERA_PINS is not None
    assert cam.PIR_PIN not in cam.CAMERA_PINS.values()
    assert sorted(cam.CAMERA_PINS) == sorted(
        ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "xclk", "pclk", "vsync", "href",
         "siod", "sioc", "pwdn", "reset"])


def _run_manifest(path, monkeypatch):
    """Run a manifest as MicroPython's manifestfile.py does (cwd = the manifest's folder,
    relative paths from there) with recording stand-ins for its functions: the calls."""
    calls = []
    env = {
        "include": lambda p, **kw: calls.append(("include", p)),
        "require": lambda name, **kw: calls.append(("require", name)),
        "package": lambda name, files=None, base_path=".", opt=None: calls.append(
            ("package", name, str(Path(base_path).resolve()))),
        "module": lambda *a, **kw: calls.append(("module",) + a),
    }
    monkeypatch.chdir(path.parent)
    exec(compile(path.read_text(), str(path), "exec"), env)
    return calls


@pytest.mark.parametrize("board", BOARDS)
def test_manifest_freezes_lib_wherever_the_repo_is(board, monkeypatch):
    calls = _run_manifest(ROOT / "boards" / board / "manifest.py", monkeypatch)
    assert calls == [
        ("include", "$(PORT_DIR)/boards/manifest.py"),
        ("require", "requests"),
        ("package", "pushover", str(ROOT / "lib")),
    ]
    assert (ROOT / "lib" / "pushover" / "__init__.py").exists()


def test_the_unix_manifest_freezes_lib_for_the_frozen_measurement(monkeypatch):
    """tools/unix_frozen_manifest.py (bench_lean.py --frozen on a unix port built with it):
    the port's own manifest, requests, and this repository's lib/ wherever it is."""
    calls = _run_manifest(ROOT / "tools" / "unix_frozen_manifest.py", monkeypatch)
    assert calls == [
        ("include", "$(PORT_DIR)/variants/manifest.py"),
        ("require", "requests"),
        ("package", "pushover", str(ROOT / "lib")),
    ]


def test_board_files_compile_for_micropython():
    for name in BOARDS:
        res = subprocess.run([deploy.mpy_cross_path(), "-o", "/dev/null",
                              str(ROOT / "boards" / name / "board.py")], capture_output=True)
        assert res.returncode == 0, res.stderr


def test_settings_template_is_not_deployable_and_settings_is_ignored():
    ignored = subprocess.run(["git", "check-ignore", "-q", "settings.py"], cwd=ROOT)
    assert ignored.returncode == 0, "settings.py must be in .gitignore"
    kept = subprocess.run(["git", "check-ignore", "-q", "examples/settings_template.py"],
                          cwd=ROOT)
    assert kept.returncode == 1, "the template must not be ignored"
