"""The library against the local Pushover server (tools/pushover_server.py) over real loopback
sockets, with each transport: UrequestsTransport through the stand-in of the firmware's requests
(1.1, the default when no transport is given, and 0.10) and SocketTransport without TLS.

Sends (text, image attachment, every field), every fault mode of the server and the typed
error it must end in, the server refusing a token, bad input refused before any network I/O,
and the other API calls (receipts, glances, user validation, sounds, limits) with their error
paths. Every test has a time bound, every server stops by itself.
"""

import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from live import (
    CLIENT_TIMEOUT,
    OTHER_USER,
    SLOW_SECONDS,
    TOKEN,
    TRANSPORTS,
    USER,
    api_requests,
    client,
    close,
    start_server,
)
from pushover import (
    FieldError,
    PushoverError,
    QuotaError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
)
from pushover import receipts as receipts_module
from pushover.account import limits, sounds, validate_user
from pushover.glances import GlanceBudget, glance
from pushover.http import REPLY_CAP
from pushover.receipts import Receipts

pytestmark = pytest.mark.timeout(20)  # a hang becomes a failure

OTHER_TOKEN = "zOtherApp0123456789abcdefghijk"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + hashlib.sha256(b"seed").digest() * 2000  # 64 KB




@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path / "server")
    yield srv
    srv.stop()


@pytest.fixture(params=TRANSPORTS)
def kind(request):
    return request.param


@pytest.fixture
def po(server, kind):
    p = client(server, kind)
    yield p
    close(p)


def stored_fields(server):
    (msg,) = server.messages()
    return msg, msg["fields"]


# ------------------------------------------------------------------------------------ sending

def test_text_send(server, po, kind):
    result = po.send("Door open ü – 🚪\nsecond line")
    msg, fields = stored_fields(server)
    assert fields["message"] == "Door open ü – 🚪\nsecond line"
    assert msg["request"] == result.request and result.receipt is None
    assert msg["encoding"] == "form"
    assert result.limit == 10000 and result.remaining == 9999 and result.reset > time.time()
    (req,) = api_requests(server, 1)
    assert req["status"] == 200 and req["method"] == "POST"
    # requests 0.10 speaks HTTP/1.0; requests 1.1 and the socket transport HTTP/1.1
    assert req["version"] == ("HTTP/1.0" if kind == "requests-0.10" else "HTTP/1.1")
    assert msg["transport"]["transfer_encoding"] is None, "the body must not be chunked"


def test_image_attachment_stored_byte_for_byte(server, po, tmp_path):
    path = tmp_path / "cam.jpg"
    path.write_bytes(JPEG)
    po.bufsize = 256
    po.send("motion", title="Cellar", attachment=str(path))
    msg, fields = stored_fields(server)
    assert msg["encoding"] == "multipart"
    att = msg["attachment"]
    assert att["filename"] == "cam.jpg" and att["content_type"] == "image/jpeg"
    assert att["size"] == len(JPEG) and att["sha256"] == hashlib.sha256(JPEG).hexdigest()
    stored = Path(server.messages_dir) / att["stored_as"]
    assert stored.read_bytes() == JPEG
    assert fields["message"] == "motion" and fields["title"] == "Cellar"


def test_base64_attachment(server, po):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 30
    po.send("b64", attachment_base64=png, attachment_type="image/png")
    msg, _ = stored_fields(server)
    att = msg["attachment"]
    assert att["content_type"] == "image/png" and att["sha256"] == hashlib.sha256(png).hexdigest()
    assert (Path(server.messages_dir) / att["stored_as"]).read_bytes() == png


def test_every_field(server, po):
    ts = 1_700_000_000
    po.send("All fields", title="T" * 250, url="https://example.com/x?a=1&b=2",
            url_title="U" * 100, device="phone,watch_2-b", html=1, priority=1,
            sound="cosmic", timestamp=ts, ttl=3600)
    _, fields = stored_fields(server)
    assert fields == {
        "token": TOKEN[:4] + "…", "user": USER[:4] + "…", "message": "All fields",
        "title": "T" * 250, "url": "https://example.com/x?a=1&b=2", "url_title": "U" * 100,
        "device": "phone,watch_2-b", "html": "1", "priority": "1", "sound": "cosmic",
        "timestamp": str(ts), "ttl": "3600"}


def test_emergency_fields_and_monospace(server, po):
    result = po.send("Water!", monospace=True, priority=2, retry=30, expire=10800,
                     callback="https://example.com/cb", tags=["cellar", "water"])
    msg, fields = stored_fields(server)
    assert len(result.receipt) == 30 and msg["receipt"]["receipt"] == result.receipt
    assert msg["receipt"]["tags"] == ["cellar", "water"]
    for name, value in (("monospace", "1"), ("priority", "2"), ("retry", "30"),
                        ("expire", "10800"), ("callback", "https://example.com/cb"),
                        ("tags", "cellar,water")):
        assert fields[name] == value, name


def test_message_limits_at_the_edge(server, po):
    po.send("é" * 1024)  # 1024 characters, 2048 bytes: accepted by both sides
    _, fields = stored_fields(server)
    assert fields["message"] == "é" * 1024


# ------------------------------------------------------------------------------- fault modes

def send_with_fault(server, po, mode):
    """One send with the fault on for exactly that request: (result or error, seconds)."""
    server.set_fault(mode, 1)
    started = time.monotonic()
    try:
        outcome = po.send("fault " + mode)
    except PushoverError as e:
        outcome = e
    elapsed = time.monotonic() - started
    assert server.fault_state() == (None, 0), "the fault was not consumed by the send"
    return outcome, elapsed


def stored_count(server):
    return len(server.messages())


@pytest.mark.parametrize("mode", ["drop_mid_body", "no_reply"])
def test_dropped_or_unanswered(server, po, mode):
    """The body of a text message fits in the socket buffers, so it counts as sent: the
    server hung up without a reply, the outcome is unknown (here: not stored)."""
    err, elapsed = send_with_fault(server, po, mode)
    assert isinstance(err, UnknownOutcomeError), err
    assert err.retry is None and err.retry_after == 5
    assert elapsed < 3
    assert stored_count(server) == 0
    assert po.send("after").request, "the client must work again after the fault"


def test_drop_mid_body_of_a_large_attachment_is_temporary(server, po, tmp_path):
    """With 5 MB to send, the server hangs up long before the body is out: nothing could have
    been delivered, so it is a TemporaryError (safe to resend), not an unknown outcome."""
    path = tmp_path / "big.jpg"
    path.write_bytes(JPEG[:16] + bytes(5_242_880 - 16))
    po.bufsize = 4096
    # the server's receive buffer fixed at 64 KB (accepted sockets inherit it): with the
    # client's send buffer at most 4 MB, the kernels cannot take all 5 MB before the hang-up
    server._httpd.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    server.set_fault("drop_mid_body", 1)
    with pytest.raises((TemporaryError, UnknownOutcomeError)) as info:
        po.send("big", attachment=str(path))
    assert stored_count(server) == 0
    assert isinstance(info.value, TemporaryError), info.value


@pytest.mark.parametrize("mode", ["500", "503"])
def test_server_errors_are_temporary(server, po, mode):
    err, _ = send_with_fault(server, po, mode)
    assert type(err) is TemporaryError, err
    assert err.http_status == int(mode) and err.retry is True and err.retry_after >= 5
    assert stored_count(server) == 0


def test_429_is_quota_with_reset(server, po):
    err, _ = send_with_fault(server, po, "429")
    assert isinstance(err, QuotaError), err
    _, _, reset = server._quota_state()
    assert err.reset == reset and err.reset > time.time()
    assert 0 < err.retry_after <= reset - time.time() + 2
    assert err.retry is True and stored_count(server) == 0


def test_slow_reply_is_unknown_within_the_timeout(server, kind):
    po = client(server, kind, timeout=CLIENT_TIMEOUT)
    try:
        err, elapsed = send_with_fault(server, po, "slow")
    finally:
        close(po)
    assert isinstance(err, UnknownOutcomeError), err
    assert CLIENT_TIMEOUT * 0.9 <= elapsed < CLIENT_TIMEOUT + 1.5 < SLOW_SECONDS
    assert "timed out" in str(err)
    assert stored_count(server) == 1, "the slow fault stores the message before replying"


def test_chunked_reply(server, po, kind):
    if kind == "requests-0.10":
        # released firmware up to v1.28 raises on a chunked reply: an unknown outcome
        err, _ = send_with_fault(server, po, "chunked")
        assert isinstance(err, UnknownOutcomeError), err
        return
    result, _ = send_with_fault(server, po, "chunked")
    assert not isinstance(result, Exception), result
    assert result.request == server.messages()[0]["request"]
    assert result.remaining is not None


def test_chunked_reply_keeps_the_connection_usable(server, po, kind):
    """After a chunked reply on a kept-alive connection, the next request must still work
    (the chunked body's last CRLF must not be left in the stream)."""
    result, _ = send_with_fault(server, po, "chunked")
    if kind == "requests-0.10":
        assert isinstance(result, UnknownOutcomeError)
    else:
        assert result.request
    for i in range(3):
        assert po.send("after chunked %d" % i).request
    if kind == "socket":
        assert po.transport.connections == 1
    assert stored_count(server) == 4


def test_keepalive_reply(server, po, kind):
    result, _ = send_with_fault(server, po, "keepalive")
    assert not isinstance(result, Exception), result
    assert po.send("next").request
    reqs = api_requests(server, 2)
    assert [r["status"] for r in reqs] == [200, 200]
    if kind == "socket":  # one connection for both
        assert reqs[0]["connection"] == reqs[1]["connection"]
    else:  # requests closes its side every time, whatever the server says
        assert reqs[0]["connection"] != reqs[1]["connection"]


def test_invalid_json_is_unknown(server, po):
    err, _ = send_with_fault(server, po, "invalid_json")
    assert isinstance(err, UnknownOutcomeError), err
    assert "not JSON" in str(err)
    assert stored_count(server) == 1


def test_oversized_reply_is_unknown_with_the_cap(server, po):
    err, elapsed = send_with_fault(server, po, "oversized")
    assert isinstance(err, UnknownOutcomeError), err
    assert "larger than %d bytes" % REPLY_CAP in str(err)
    assert "no reply came" not in str(err), "a reply did come; it was too large: " + str(err)
    assert stored_count(server) == 1 and elapsed < 3
    assert po.send("after").request


def test_per_request_fault_prefix(server, kind):
    """The server's /fault/<mode>/1/ prefix puts one request into a fault mode."""
    po = client(server, kind, api_url=server.url + "/fault/503/1")
    try:
        with pytest.raises(TemporaryError):
            po.send("x")
    finally:
        close(po)
    assert api_requests(server, 1)[0]["fault"] == "503"


def test_idle_connection_closed_by_the_server(tmp_path, kind):
    """The server closes an idle kept-alive connection: the next send must still work, once
    and on a new connection."""
    srv = start_server(tmp_path / "idle", socket_timeout=0.3)
    po = client(srv, kind)
    try:
        assert po.send("first").request
        time.sleep(0.8)
        assert po.send("second").request
    finally:
        close(po)
        srv.stop()
    assert [m["fields"]["message"] for m in srv.messages()] == ["second", "first"]
    assert [r["status"] for r in api_requests(srv, 2)] == [200, 200]


# ------------------------------------------------------------------- refused by the server

def test_invalid_token_is_rejected_with_the_servers_reasons(tmp_path, kind):
    srv = start_server(tmp_path / "srv", tokens=[TOKEN], users=[USER])
    po = client(srv, kind, token=OTHER_TOKEN)
    try:
        with pytest.raises(RejectedError) as info:
            po.send("x")
        err = info.value
        assert err.http_status == 400 and err.retry is False
        assert err.errors == ["application token is invalid"]
        assert err.fields == {"token": "invalid"}
        assert err.request and "application token is invalid" in str(err)
        with pytest.raises(RejectedError) as info:
            po.send("x", user=OTHER_USER)
        assert info.value.fields == {"token": "invalid", "user": "invalid"}
        assert len(info.value.errors) == 2
    finally:
        close(po)
        srv.stop()
    assert srv.messages() == []


def test_unknown_user_is_rejected(tmp_path, kind):
    srv = start_server(tmp_path / "srv", users=[USER])
    po = client(srv, kind)
    try:
        with pytest.raises(RejectedError) as info:
            po.send("x", user=OTHER_USER)
        assert info.value.errors == ["user identifier is invalid"]
        assert info.value.fields == {"user": "invalid"}
        assert po.send("ok").request  # the connection (if kept) is still good
    finally:
        close(po)
        srv.stop()


BAD_INPUT = [
    ("message", lambda po: po.send("x" * 1025)),
    ("message", lambda po: po.send("   ")),
    ("title", lambda po: po.send("x", title="t" * 251)),
    ("url", lambda po: po.send("x", url="u" * 513)),
    ("url_title", lambda po: po.send("x", url="u", url_title="t" * 101)),
    ("device", lambda po: po.send("x", device="bad device")),
    ("device", lambda po: po.send("x", device="d" * 26)),
    ("html", lambda po: po.send("x", html=1, monospace=1)),
    ("priority", lambda po: po.send("x", priority=3)),
    ("retry", lambda po: po.send("x", priority=2, expire=60)),
    ("retry", lambda po: po.send("x", priority=2, retry=29, expire=60)),
    ("expire", lambda po: po.send("x", priority=2, retry=30, expire=10801)),
    ("tags", lambda po: po.send("x", tags="a")),
    ("ttl", lambda po: po.send("x", ttl=0)),
    ("timestamp", lambda po: po.send("x", timestamp="now")),
    ("sound", lambda po: po.send("x", sound="")),
    ("attachment", lambda po: po.send("x", attachment="/no/such/file.jpg")),
    ("attachment", lambda po: po.send("x", attachment=b"not an image")),
    ("attachment", lambda po: po.send("x", attachment=bytes(5_242_881),
                                      attachment_type="image/jpeg")),
    ("attachment_type", lambda po: po.send("x", attachment_base64=JPEG)),
    ("colour", lambda po: po.send("x", colour="red")),
    ("user", lambda po: po.send("x", user="short")),
    ("user", lambda po: po.send("x", user=",".join([USER] * 51))),
]


def test_bad_input_never_reaches_the_network(server, po):
    for field, call in BAD_INPUT:
        with pytest.raises(FieldError) as info:
            call(po)
        assert info.value.field == field, (field, str(info.value))
        assert info.value.retry is False
    assert api_requests(server) == [] and server.stats()["connections"] == 0


# ---------------------------------------------------------------------------- other calls

class FakeTicks:
    """Stands in for the receipts module's clock: a sleep advances time (and really sleeps a
    little so that a thread acknowledging in the background gets its turn)."""

    def __init__(self, real_sleep=0.05):
        self.now = 0
        self.sleeps = []
        self.real_sleep = real_sleep

    def ticks_ms(self):
        return self.now

    def sleep_ms(self, ms):
        self.sleeps.append(ms)
        self.now += ms
        time.sleep(self.real_sleep)


@pytest.fixture
def ticks(monkeypatch):
    t = FakeTicks()
    monkeypatch.setattr(receipts_module, "ticks_ms", t.ticks_ms)
    monkeypatch.setattr(receipts_module, "sleep_ms", t.sleep_ms)
    return t


def emergency(po, **kw):
    return po.send("Water!", priority=2, retry=30, expire=3600, **kw).receipt


def test_receipt_status_and_poll_spacing(server, po, ticks):
    receipt = emergency(po)
    r = Receipts(po)
    first = r.status(receipt)
    assert not first.acknowledged and not first.expired and not first.done
    assert first.expires_at > time.time() and first.last_delivered_at > 0
    server.acknowledge(receipt, device="watch")
    second = r.status(receipt)
    assert ticks.sleeps == [5000], "the second poll must wait 5 s after the first"
    assert second.acknowledged and second.done and second.acknowledged_by == USER
    assert second.acknowledged_by_device == "watch" and second.acknowledged_at > 0


def test_receipt_wait_until_acknowledged_from_a_thread(server, po, ticks):
    receipt = emergency(po, callback="https://example.com/cb")
    acker = threading.Timer(0.3, server.acknowledge, (receipt,), {"device": "phone"})
    acker.start()
    try:
        status = Receipts(po).wait(receipt, timeout=600)
    finally:
        acker.join(5)
    assert status.acknowledged and status.acknowledged_by_device == "phone"
    assert status.called_back, "a receipt with a callback reports called_back once acked"
    assert ticks.sleeps and all(ms >= 5000 for ms in ticks.sleeps)
    polls = [r for r in api_requests(server, len(ticks.sleeps) + 2) if r["method"] == "GET"]
    assert len(polls) == len(ticks.sleeps) + 1


def test_receipt_wait_times_out(server, po, ticks):
    receipt = emergency(po)
    status = Receipts(po).wait(receipt, timeout=12)
    assert not status.done
    assert ticks.sleeps == [5000, 5000], "polls at 0, 5 and 10 s, then gives up"
    with pytest.raises(FieldError):
        Receipts(po).wait(receipt, timeout=-1)


def test_receipt_cancel_and_cancel_by_tag(server, po, ticks):
    r = Receipts(po)
    one = emergency(po)
    tag = "Garage door/north side"
    tagged = [emergency(po, tags=[tag, "other"]) for _ in range(2)]
    untagged = emergency(po, tags="other")
    assert r.cancel(one).data["status"] == 1
    assert r.status(one).expired and r.status(one).data["canceled"] == 1
    assert r.cancel_by_tag(tag) == 2
    for receipt in tagged:
        assert r.status(receipt).data.get("canceled") == 1
    assert not r.status(untagged).done
    assert r.cancel_by_tag(tag) == 0, "already cancelled"
    assert r.cancel_by_tag("no such tag") == 0
    paths = [q["path"] for q in api_requests(server, 13) if "cancel_by_tag" in q["path"]]
    assert paths[0].endswith("/cancel_by_tag/Garage%20door%2Fnorth%20side.json"), paths


def test_receipt_error_paths(tmp_path, kind, ticks):
    srv = start_server(tmp_path / "srv", tokens=[TOKEN, OTHER_TOKEN])
    po = client(srv, kind)
    other = client(srv, kind, token=OTHER_TOKEN)
    try:
        r = Receipts(po)
        receipt = emergency(po)
        unknown = "R" * 30
        for call in (lambda: r.status(unknown), lambda: r.cancel(unknown),
                     lambda: Receipts(other).status(receipt),
                     lambda: Receipts(other).cancel(receipt)):
            with pytest.raises(RejectedError) as info:
                call()
            assert info.value.http_status == 404
            assert info.value.fields == {"receipt": "not found"}
            assert "receipt not found" in str(info.value)
        assert not r.status(receipt).done, "another app cannot cancel it"
        before = len(api_requests(srv, 6))
        for bad in ("short", "x" * 30 + "/", None):
            with pytest.raises(FieldError):
                r.status(bad)
            with pytest.raises(FieldError):
                r.cancel(bad)
        for bad_tag in ("", "   ", "t" * 513, 5):
            with pytest.raises(FieldError):
                r.cancel_by_tag(bad_tag)
        assert len(api_requests(srv)) == before, "bad input reached the network"
        bad_token = client(srv, kind, token="bAdToken0123456789abcdefghijkl")
        with pytest.raises(RejectedError) as info:
            Receipts(bad_token).cancel_by_tag("x")
        assert info.value.fields == {"token": "invalid"}
        close(bad_token)
        srv.set_fault("503", 1)
        with pytest.raises(TemporaryError):
            r.status(receipt)
    finally:
        close(po)
        close(other)
        srv.stop()


def test_glance_with_limits(server, po):
    assert glance(po, title="T" * 100, text="21.5 C", subtext="cellar", count=-3,
                  percent=100).data["status"] == 1
    glance(po, percent=0, device="watch")
    first, second = reversed(server.glances())
    assert first["fields"] == {"token": TOKEN[:4] + "…", "user": USER[:4] + "…",
                               "title": "T" * 100, "text": "21.5 C", "subtext": "cellar",
                               "count": "-3", "percent": "100"}
    assert second["fields"]["percent"] == "0" and second["fields"]["device"] == "watch"
    before = len(api_requests(server, 2))
    for kwargs, field in (({"title": "T" * 101}, "title"), ({"text": "x" * 101}, "text"),
                          ({"subtext": "x" * 101}, "subtext"), ({"percent": 101}, "percent"),
                          ({"percent": -1}, "percent"), ({"count": 1.5}, "count"),
                          ({}, "glance"), ({"title": "x", "device": "bad name"}, "device"),
                          ({"title": "x", "user": "nope"}, "user")):
        with pytest.raises(FieldError) as info:
            glance(po, **kwargs)
        assert info.value.field == field
    assert len(api_requests(server)) == before
    assert len(server.glances()) == 2


def test_glance_error_paths(tmp_path, kind):
    srv = start_server(tmp_path / "srv", tokens=[TOKEN], users=[USER])
    po = client(srv, kind)
    try:
        with pytest.raises(RejectedError) as info:
            glance(po, title="x", user=OTHER_USER)
        assert info.value.fields == {"user": "invalid"}
        for mode, error in (("500", TemporaryError), ("429", QuotaError),
                            ("no_reply", UnknownOutcomeError)):
            srv.set_fault(mode, 1)
            with pytest.raises(error):
                glance(po, count=1)
        assert srv.glances() == []
        bad = client(srv, kind, token=OTHER_TOKEN)
        with pytest.raises(RejectedError) as info:
            glance(bad, count=1)
        assert info.value.errors == ["application token is invalid"]
        close(bad)
    finally:
        close(po)
        srv.stop()


def test_glance_budget_gates_real_updates(server, po, tmp_path):
    now = [1_800_000_000]
    state = str(tmp_path / "glance.state")
    budget = GlanceBudget(state, per_day=12, clock=lambda: now[0])
    sent = 0
    for minute in range(0, 24 * 60, 30):  # a sensor reading every 30 minutes for a day
        now[0] = 1_800_000_000 + minute * 60
        if budget.allow():
            glance(po, count=minute)
            sent += 1
        if minute == 600:  # deep sleep: a new budget from the same file keeps the spacing
            budget = GlanceBudget(state, per_day=12, clock=lambda: now[0])
    assert sent == 12 == len(server.glances())
    minutes = sorted(int(g["fields"]["count"]) for g in server.glances())
    assert minutes == list(range(0, 24 * 60, 120)), "one update every 2 hours"
    assert GlanceBudget(per_day=50).spacing == 1728
    for per_day in (0, 51):
        with pytest.raises(FieldError):
            GlanceBudget(per_day=per_day)


def test_validate_user(tmp_path, kind):
    srv = start_server(tmp_path / "srv", tokens=[TOKEN], users=[USER])
    po = client(srv, kind)
    try:
        data = validate_user(po).data
        assert data["devices"] == ["phone", "tablet", "watch"] and data["group"] == 0
        assert data["licenses"] == ["Android", "iOS", "Desktop"]
        assert validate_user(po, device="watch").data["status"] == 1
        with pytest.raises(RejectedError) as info:
            validate_user(po, user=OTHER_USER)
        assert info.value.fields == {"user": "invalid"}
        assert info.value.errors == ["user identifier is invalid"]
        with pytest.raises(RejectedError) as info:
            validate_user(po, device="fridge")
        assert info.value.fields == {"device": "invalid"}
        assert info.value.errors == ["device name is not valid for user"]
        before = len(api_requests(srv, 4))
        for kwargs in ({"user": "x"}, {"device": "two words"}, {"device": "d" * 26}):
            with pytest.raises(FieldError):
                validate_user(po, **kwargs)
        assert len(api_requests(srv)) == before
        srv.set_fault("oversized", 1)
        with pytest.raises(UnknownOutcomeError):
            validate_user(po)
    finally:
        close(po)
        srv.stop()


def test_sounds_and_limits(tmp_path, kind):
    srv = start_server(tmp_path / "srv", tokens=[TOKEN], quota=50)
    po = client(srv, kind)
    try:
        names = sounds(po)
        assert len(names) == 23 and names["pushover"] == "Pushover (default)"
        assert "none" in names and "vibrate" in names
        assert limits(po)[:2] == (50, 50)
        po.send("one")
        limit, remaining, reset = limits(po)
        assert (limit, remaining) == (50, 49) and reset > time.time()
        srv.set_fault("invalid_json", 1)
        with pytest.raises(UnknownOutcomeError):
            sounds(po)
        srv.set_fault("chunked", 1)
        if kind != "requests-0.10":  # requests 1.1 and the socket transport de-chunk
            assert limits(po)[1] == 49
        else:  # released firmware's requests cannot read a chunked reply (a GET: nothing
            # can have been delivered, so it is temporary, not an unknown outcome)
            with pytest.raises(TemporaryError):
                limits(po)
        bad = client(srv, kind, token=OTHER_TOKEN)
        for call in (sounds, limits):
            with pytest.raises(RejectedError) as info:
                call(bad)
            assert info.value.fields == {"token": "invalid"}
        close(bad)
    finally:
        close(po)
        srv.stop()


def test_quota_runs_out(tmp_path, kind):
    srv = start_server(tmp_path / "srv", quota=2)
    po = client(srv, kind)
    try:
        assert po.send("1").remaining == 1
        assert po.send("2").remaining == 0
        with pytest.raises(QuotaError) as info:
            po.send("3")
        assert info.value.reset == limits(po)[2] and info.value.retry_after > 0
    finally:
        close(po)
        srv.stop()
    assert len(srv.messages()) == 2


def test_no_server_is_temporary(kind, tmp_path):
    srv = start_server(tmp_path / "gone")
    url = srv.api_url
    srv.stop()
    po = client(srv, kind, api_url=url)
    try:
        with pytest.raises(TemporaryError) as info:
            po.send("x")
        assert info.value.retry is True
    finally:
        close(po)


def test_attachment_on_disk_is_not_modified(server, po, tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(JPEG)
    before = os.stat(path)
    po.send("x", attachment=str(path))
    assert path.read_bytes() == JPEG and os.stat(path).st_mtime == before.st_mtime
    po.send("y", attachment_base64=str(path), attachment_type="image/jpeg")
    assert server.messages()[0]["attachment"]["sha256"] == hashlib.sha256(JPEG).hexdigest()


@pytest.mark.parametrize("raw", [b"HTTP/1.1 abc OK\r\n\r\n",
                                 b"HTTP/1.1 200 OK\r\nX-Limit-App-Remaining: \xff\r\n\r\n{}"])
def test_garbled_reply_is_a_typed_error(kind, raw):
    """A status line or a wanted header that cannot be read ends in a PushoverError (here an
    unknown outcome: the body went out), not in a bare ValueError or UnicodeError."""
    from scripted_server import ScriptedServer

    srv = ScriptedServer(max_seconds=10)
    srv.replies.append(raw)
    po = client(srv, kind, api_url=srv.url + "/1")
    try:
        with pytest.raises(UnknownOutcomeError):
            po.send("x")
    finally:
        close(po)
        srv.stop()
