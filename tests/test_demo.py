"""`make demo` (tools/demo.py): one command sends a text and an image to a local Pushover, and
fails when what arrived is not what was sent."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_sends_and_shows_what_arrived(tmp_path):
    env = dict(os.environ, DATA=str(tmp_path / "data"))
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("sent: ") == 2 and "FAILED" not in res.stdout
    assert "image demo-camera.png" in res.stdout and "image/png" in res.stdout
    assert list((tmp_path / "data" / "messages").glob("*.png"))


def test_demo_check_fails_on_a_wrong_image(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    from demo import check_arrived

    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "a.png").write_bytes(b"\x89PNG other")
    received = [{"fields": {"message": "Motion at the front door"},
                 "attachment": {"stored_as": "a.png"}},
                {"fields": {"message": "Cellar water level: 12 cm and rising"}}]
    assert check_arrived(received, tmp_path, b"\x89PNG sent") == 1
    assert check_arrived(received, tmp_path, b"\x89PNG other") == 0
    assert check_arrived(received[1:], tmp_path, b"\x89PNG other") == 1
