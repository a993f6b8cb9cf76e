"""The local server against Pushover clients people already use, unchanged, as test
dependencies (pushover-complete, Apprise) and the curl commands of Pushover's FAQ.

Each client hard-codes the real API's address; each is pointed at the local server the way it
allows: pushover-complete's module constant PUSHOVER_API_URL (monkeypatched), Apprise's
`notify_url` class attribute (monkeypatched), curl's URL argument. Every server listens on
127.0.0.1 and stops by itself; nothing here reaches another host.
"""

import json
import shutil
import struct
import subprocess
import sys
import zlib

import pytest

import localpushover
from conftest import pypi_requests

pytestmark = pytest.mark.timeout(30)  # a hang becomes a failure

PYPI_REQUESTS = pypi_requests()

TOKEN = "cliTokenA1b2C3d4E5f6G7h8J9k0L1"
USER = "cliUserKeyZ9y8X7w6V5u4T3s2R1q0"
GROUP = "cliGroupKeyQ1w2E3r4T5y6U7i8O9p"


def tiny_png(width=4, height=3):
    """A real PNG image (red pixels), built with zlib: no image library needed."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = tiny_png()




@pytest.fixture(autouse=True)
def _clients_use_pypi_requests(monkeypatch):
    """These clients run on PyPI's requests, not on the firmware's stand-in the library uses."""
    monkeypatch.setitem(sys.modules, "requests", PYPI_REQUESTS)


@pytest.fixture
def srv(tmp_path):
    with localpushover.PushoverServer(port=0, data_dir=tmp_path / "data", max_seconds=60,
                                      socket_timeout=5) as s:
        yield s
        assert s.stats()["internal_errors"] == 0


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "door.png"
    path.write_bytes(PNG)
    return path


# --------------------------------------------------------------------------- pushover-complete

@pytest.fixture
def pc(srv, monkeypatch):
    import pushover_complete.pushover_api as api

    monkeypatch.setattr(api, "PUSHOVER_API_URL", srv.api_url + "/")
    return api.PushoverAPI(TOKEN)


def test_pushover_complete_plain_message(pc, srv):
    """It sends html=False as the text "False" on every message."""
    reply = pc.send_message(USER, "plain from pushover-complete")
    assert reply["status"] == 1
    (m,) = srv.messages()
    assert m["fields"]["message"] == "plain from pushover-complete"
    assert m["fields"]["html"] == "False"
    assert m["transport"]["user_agent"].startswith("python-requests/")


def test_pushover_complete_every_field(pc, srv):
    reply = pc.send_message(USER, "<b>every</b> field", device="phone,tablet", title="All",
                            url="https://example.invalid/x", url_title="link", priority=1,
                            timestamp=1700000000, sound="siren", html=True, ttl=3600)
    assert reply["status"] == 1
    f = srv.messages()[0]["fields"]
    assert (f["device"], f["title"], f["url_title"], f["priority"], f["timestamp"],
            f["sound"], f["html"], f["ttl"]) == ("phone,tablet", "All", "link", "1",
                                                 "1700000000", "siren", "True", "3600")


def test_pushover_complete_image_file_without_content_type(pc, srv, image):
    """`files={"attachment": f}`: requests sends the part with a filename and no
    Content-Type; Pushover takes it, so the server must."""
    reply = pc.send_message(USER, "with an image", image=str(image))
    assert reply["status"] == 1
    a = srv.messages()[0]["attachment"]
    assert (a["filename"], a["content_type"], a["size"]) == ("door.png", "image/png", len(PNG))
    assert (srv.messages_dir / a["stored_as"]).read_bytes() == PNG


def test_pushover_complete_emergency_receipt_poll_and_cancel(pc, srv):
    reply = pc.send_message(USER, "emergency", priority=2, retry=30, expire=3600,
                            callback_url="https://example.invalid/cb")
    receipt = reply["receipt"]
    assert len(receipt) == 30
    state = pc.check_receipt(receipt)  # a GET with the token in a form body
    assert (state["acknowledged"], state["expired"]) == (0, 0)
    assert pc.cancel_receipt(receipt)["status"] == 1
    assert pc.check_receipt(receipt)["expired"] == 1


def test_pushover_complete_sounds_and_validation(pc, srv):
    sounds = pc.get_sounds()  # a GET with the token in a form body
    assert sounds == localpushover.SOUNDS
    assert pc.validate(USER)["devices"] == ["phone", "tablet", "watch"]
    assert pc.validate(USER, device="phone")["status"] == 1
    from pushover_complete import BadAPIRequestError

    with pytest.raises(BadAPIRequestError, match="400"):
        pc.validate(USER, device="toaster")
    with pytest.raises(BadAPIRequestError, match="400"):
        pc.validate("not-a-key")


def test_pushover_complete_limits_refused_as_pushover_refuses(pc, srv):
    from pushover_complete import BadAPIRequestError

    for kwargs in ({"message": "m" * 1025}, {"message": "x", "title": "t" * 251},
                   {"message": "x", "priority": 2, "retry": 29, "expire": 60},
                   {"message": "x", "priority": 2, "retry": 30, "expire": 10801}):
        message = kwargs.pop("message")
        with pytest.raises(BadAPIRequestError, match="^400: "):
            pc.send_message(USER, message, **kwargs)
    assert srv.messages() == []
    assert pc.send_message(USER, "m" * 1024, title="t" * 250)["status"] == 1


# --------------------------------------------------------------------------- Apprise

@pytest.fixture
def notify(srv, monkeypatch):
    import apprise
    from apprise.plugins.pushover import NotifyPushover

    monkeypatch.setattr(NotifyPushover, "notify_url", srv.api_url + "/messages.json")
    monkeypatch.setattr(NotifyPushover, "request_rate_per_sec", 0)

    def send(query="", body="from apprise", title="", attach=None, target=""):
        a = apprise.Apprise()
        url = "pover://%s@%s" % (USER, TOKEN) + ("/" + target if target else "")
        assert a.add(url + ("?" + query if query else ""))
        return a.notify(body=body, title=title, attach=attach)
    return send


def test_apprise_plain_message(notify, srv):
    assert notify(body="hello from apprise", title="Apprise")
    f = srv.messages()[0]["fields"]
    assert (f["message"], f["title"], f["priority"], f["sound"]) == (
        "hello from apprise", "Apprise", "0", "pushover")


def test_apprise_every_field_it_has(notify, srv):
    assert notify("priority=high&sound=bike&url=https%3A%2F%2Fexample.invalid%2F"
                  "&url_title=site", target="phone", title="T")
    f = srv.messages()[0]["fields"]
    assert (f["priority"], f["sound"], f["url"], f["url_title"], f["device"]) == (
        "1", "bike", "https://example.invalid/", "site", "phone")


def test_apprise_emergency(notify, srv):
    assert notify("priority=emergency&interval=30&expire=120")
    m = srv.messages()[0]
    assert (m["fields"]["priority"], m["fields"]["retry"], m["fields"]["expire"]) == (
        "2", "30", "120")
    assert m["receipt"]["expires_at"] == m["received_at"] + 120


def test_apprise_image_attachment_without_content_type(notify, srv, image):
    import apprise

    assert notify(attach=apprise.AppriseAttachment(str(image)))
    a = srv.messages()[0]["attachment"]
    assert (a["filename"], a["content_type"], a["size"]) == ("door.png", "image/png", len(PNG))


def test_apprise_sees_a_refusal(notify, srv):
    assert not notify(body="x" * 1025)  # Apprise does not cut the text: the server refuses
    assert srv.messages() == []


# --------------------------------------------------------------------------- curl (the FAQ)

CURL = shutil.which("curl")


def curl(*args):
    if CURL is None:
        pytest.fail("curl is not installed: install it (Debian: apt-get install curl)")
    out = subprocess.run([CURL, "-s", "--max-time", "10", *args], capture_output=True,
                         timeout=20, check=True)
    return json.loads(out.stdout)


def test_curl_form_string(srv):
    reply = curl("--form-string", "token=" + TOKEN, "--form-string", "user=" + USER,
                 "--form-string", "message=hello world", srv.api_url + "/messages.json")
    assert reply["status"] == 1
    m = srv.messages()[0]
    assert (m["encoding"], m["fields"]["message"]) == ("multipart", "hello world")


def test_curl_with_an_image_file(srv, image):
    reply = curl("--form-string", "token=" + TOKEN, "--form-string", "user=" + USER,
                 "--form-string", "message=here is an image attachment",
                 "-F", "attachment=@%s" % image, srv.api_url + "/messages.json")
    assert reply["status"] == 1
    a = srv.messages()[0]["attachment"]
    assert (a["filename"], a["content_type"], a["size"]) == ("door.png", "image/png", len(PNG))


def test_curl_urlencoded_emergency_poll_and_cancel(srv):
    reply = curl("-d", "token=%s&user=%s&message=fire&priority=2&retry=30&expire=300&tags=t1"
                 % (TOKEN, USER), srv.api_url + "/messages.json")
    receipt = reply["receipt"]
    state = curl("%s/receipts/%s.json?token=%s" % (srv.api_url, receipt, TOKEN))
    assert (state["status"], state["acknowledged"]) == (1, 0)
    assert curl("-d", "token=" + TOKEN,
                "%s/receipts/cancel_by_tag/t1.json" % srv.api_url)["canceled"] == 1


def test_curl_refusal_shape(srv):
    reply = curl("--form-string", "token=" + TOKEN, "--form-string", "user=short",
                 "--form-string", "message=x", srv.api_url + "/messages.json")
    assert (reply["status"], reply["user"]) == (0, "invalid")
    assert reply["errors"] and reply["request"]


def test_curl_sounds_limits_and_quota_headers(srv):
    assert curl("%s/sounds.json?token=%s" % (srv.api_url, TOKEN))["sounds"]["siren"] == "Siren"
    limits = curl("%s/apps/limits.json?token=%s" % (srv.api_url, TOKEN))
    assert (limits["limit"], limits["remaining"]) == (10000, 10000)
    out = subprocess.run([CURL or "curl", "-s", "-i", "--max-time", "10", "--form-string",
                          "token=" + TOKEN, "--form-string", "user=" + USER, "--form-string",
                          "message=x", srv.api_url + "/messages.json"],
                         capture_output=True, timeout=20, check=True).stdout.decode()
    assert "X-Limit-App-Remaining: 9999\r\n" in out
    assert curl("%s/apps/limits.json?token=%s" % (srv.api_url, TOKEN))["remaining"] == 9999
    assert curl("%s/sounds.json?token=bad" % srv.api_url)["token"] == "invalid"
