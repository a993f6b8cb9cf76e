"""The local server's command line and life (tools/localpushover/cli.py, server.py): binding,
warnings, stopping by itself.
"""

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from urllib.parse import urlencode

import pytest

import pushover_server
from api_cases import OTHER_TOKEN, TOKEN
from pushover_server import PushoverServer
from server_helpers import (  # noqa: F401
    FORM,
    SERVER_SCRIPT,
    fields,
    find_leak,
    head,
    make_server,
    read_reply,
    send,
    srv_fixture,
)

pytestmark = pytest.mark.timeout(20)  # a hang becomes a failure


def test_default_bind_is_loopback(tmp_path):
    srv = PushoverServer(port=0, data_dir=str(tmp_path), max_seconds=5)
    assert srv.host == "127.0.0.1"
    with srv:
        assert srv._httpd.server_address[0] == "127.0.0.1"
        assert srv.url == "http://127.0.0.1:%d" % srv.port
        assert srv.api_url == srv.url + "/1"


def test_cli_warns_for_a_non_loopback_host(tmp_path, capsys):
    # binds 0.0.0.0 on a free port for 0.2 s and is never contacted
    assert pushover_server.main(["--host", "0.0.0.0", "--port", "0", "--max-seconds", "0.2",
                                 "--data", str(tmp_path / "a")]) == 0
    out = capsys.readouterr()
    assert "WARNING" in out.err and "0.0.0.0" in out.err
    assert pushover_server.main(["--port", "0", "--max-seconds", "0.2",
                                 "--data", str(tmp_path / "b")]) == 0
    out = capsys.readouterr()
    assert "WARNING" not in out.err
    assert "http://127.0.0.1:" in out.out
    for host, loop in [("127.0.0.1", True), ("localhost", True), ("::1", True),
                       ("127.1.2.3", True), ("0.0.0.0", False), ("192.168.1.10", False),
                       ("::", False), ("example.invalid", False)]:
        assert pushover_server._is_loopback(host) is loop, host


def test_server_stops_by_itself(tmp_path):
    srv = make_server(tmp_path, max_seconds=0.3).start()
    assert srv.running
    srv.wait()  # returns: it stopped by itself (pytest-timeout bounds the test)
    assert not srv.running
    with pytest.raises(OSError):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=1) as s:
            s.sendall(head("GET", "/"))
            read_reply(s)
    srv.stop()


def test_stop_cuts_a_slow_reply_short(tmp_path):
    srv = make_server(tmp_path, slow_seconds=10).start()
    srv.set_fault("slow", 1)
    done = {}

    def client():
        try:
            send(srv)
        except Exception as e:  # noqa: BLE001 - recorded for the assertion
            done["error"] = e

    t = threading.Thread(target=client)
    t.start()
    deadline = time.monotonic() + 3
    while not srv.messages() and time.monotonic() < deadline:
        time.sleep(0.02)
    srv.stop()
    t.join(8)  # the slow reply would take 10 s: the client ended before, cut short
    assert not t.is_alive()
    assert isinstance(done.get("error"), (http.client.RemoteDisconnected, ConnectionError))


def test_cli_starts_serves_and_exits_by_itself(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "--port", "0", "--max-seconds", "2",
         "--data", str(tmp_path / "cli"), "--token", TOKEN, "--quota", "5",
         "--fault", "503", "--fault-count", "1", "--slow-seconds", "0.1", "--verbose"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"inbox (http://127\.0\.0\.1:(\d+))/\s+API (\S+)", line)
        assert m, line
        base, port, api = m.group(1), int(m.group(2)), m.group(3)
        assert api == base + "/1"

        def post(path, body):
            req = urllib.request.Request(base + path, data=body.encode(),
                                         headers={"Content-Type": FORM})
            try:
                with urllib.request.urlopen(req, timeout=3) as r:
                    return r.status, dict(r.headers), json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), json.loads(e.read())

        assert post("/1/messages.json", urlencode(fields()))[0] == 503  # --fault 503, once
        status, headers, p = post("/1/messages.json", urlencode(fields(message="via cli")))
        assert status == 200 and p["status"] == 1
        assert headers["X-Limit-App-Limit"] == "5" and headers["X-Limit-App-Remaining"] == "4"
        status, _, p = post("/1/messages.json", urlencode(fields(token=OTHER_TOKEN)))
        assert status == 400 and p["token"] == "invalid"  # --token restricts
        with urllib.request.urlopen(base + "/inbox.json", timeout=3) as r:
            assert json.loads(r.read())[0]["fields"]["message"] == "via cli"
        out, err = proc.communicate(timeout=4)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0  # it exited by itself within communicate()'s timeout
    assert "fault=503" in err and "POST /1/messages.json" in err
    assert find_leak(line + out + err) is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert len(list((tmp_path / "cli" / "messages").glob("*.json"))) == 1


def test_cli_warns_about_a_key_that_can_never_match(tmp_path, capsys):
    assert pushover_server.main(["--port", "0", "--max-seconds", "0.1", "--data",
                                 str(tmp_path), "--user", "tooShortKey"]) == 0
    err = capsys.readouterr().err
    assert "can never match" in err and "tooShortKey" not in err


def test_cli_port_in_use(tmp_path, capsys):
    with make_server(tmp_path / "a") as srv:
        rc = pushover_server.main(["--port", str(srv.port), "--max-seconds", "0.1",
                                   "--data", str(tmp_path / "b")])
    assert rc == 1 and "cannot listen" in capsys.readouterr().err
