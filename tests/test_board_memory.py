"""The per-board figure in boards/README.md and each board's README ("a send allocates N B
whatever the attachment's size") is what real MicroPython measures with that board's BUFSIZE:
a 1 MB attachment streamed from a file, collector off so every allocated byte counts."""

import importlib.util
import re
from pathlib import Path

import pytest

from mpyrun import run_micropython

ROOT = Path(__file__).resolve().parent.parent
SEND_MEMORY = ROOT / "tests" / "mpy" / "send_memory.py"
BOARDS = ("esp32", "esp32c3", "esp32s3_psram", "esp32cam")
FIXED = 6 * 1024  # what a send allocates besides its buffer: a bound, not a target


def bufsize(board):
    spec = importlib.util.spec_from_file_location("b", ROOT / "boards" / board / "board.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BUFSIZE


def measured(tmp_path, size, buf):
    with open(tmp_path / "att.bin", "wb") as f:
        f.write(b"\xff\xd8\xff")
        f.truncate(size)
    res = run_micropython(SEND_MEMORY, heap="64M", paths=[ROOT / "lib"],
                          mounts={"/tmp": tmp_path}, args=[str(size), str(buf), "stream"])
    assert res.ok, res.stderr
    return int(dict(kv.split("=") for kv in res.stdout.split())["alloc"])


def documented(path, board):
    text = path.read_text()
    if path.parent.name == "boards":
        row = re.search(r"^\| `%s` \|.*$" % board, text, re.M).group(0)
        return int(row.split("|")[5].strip().removesuffix(" B").replace(",", ""))
    return int(re.search(r"a send allocates at most ([\d,]+) B", text).group(1).replace(",", ""))


@pytest.mark.parametrize("board", BOARDS)
def test_board_figure_is_measured(board, tmp_path):
    buf = bufsize(board)
    alloc = measured(tmp_path, 1_000_000, buf)
    print("%s: BUFSIZE %d, a 1 MB send allocates %d B" % (board, buf, alloc))
    assert alloc <= FIXED + buf
    # the documented figure is a bound ("at most"), close enough to say something: a harmless
    # change of a few blocks does not fail it, a real growth does
    for notes in (ROOT / "boards" / "README.md", ROOT / "boards" / board / "README.md"):
        assert alloc <= documented(notes, board) <= alloc + 1024, (notes, alloc)


def test_figure_does_not_depend_on_the_attachment(tmp_path):
    buf = bufsize("esp32")
    assert measured(tmp_path, 100_000, buf) == measured(tmp_path, 3_000_000, buf)
