"""pushover.aio on CPython's asyncio against the local Pushover (tools/localpushover) over
loopback, and against TLS servers whose certificates come from a test CA (trustme): sends
with and without an attachment (stored byte for byte), every fault mode, a server that stalls
before the body is out, a cancelled task, verified TLS, keep-alive, and the background forms
(receipt wait, queue flush, resend). Every server stops by itself; every test is bounded."""

import asyncio
import datetime
import hashlib
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
import trustme

from live import CLIENT_TIMEOUT, TOKEN, USER, api_requests, start_server
from pushover import (
    FieldError,
    Pushover,
    QuotaError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
    aio,
)
from pushover import receipts as receipts_module
from pushover.errors import TLSError
from pushover.http import REPLY_CAP
from pushover.queue import Queue
from scripted_server import OK, ScriptedServer

pytestmark = pytest.mark.timeout(20)  # a hang becomes a failure

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + hashlib.sha256(b"aio").digest() * 8000  # 256 KB


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path / "server")
    yield srv
    srv.stop()


def client(url, timeout=3, bufsize=1024):
    return Pushover(TOKEN, USER, api_url=url, timeout=timeout, bufsize=bufsize,
                    transport=object())  # the synchronous transport is never used here


def run(coro):
    return asyncio.run(coro)


def outcome(coro):
    try:
        return run(coro)
    except Exception as e:
        return e


def big_file(tmp_path, size=5_242_880):
    path = tmp_path / "big.jpg"
    with open(path, "wb") as f:
        f.write(JPEG[:16])
        f.truncate(size)
    return str(path)


# ---- sending

def test_text_send(server):
    result = run(aio.send(client(server.api_url), "Door open ü 🚪", title="Garage"))
    (msg,) = server.messages()
    assert msg["fields"]["message"] == "Door open ü 🚪" and msg["fields"]["title"] == "Garage"
    assert result.request == msg["request"] and result.remaining == 9999
    (req,) = api_requests(server, 1)
    assert req["version"] == "HTTP/1.1" and req["status"] == 200
    assert msg["transport"]["transfer_encoding"] is None, "the body must not be chunked"


def test_attachment_stored_byte_for_byte(server, tmp_path):
    path = tmp_path / "cam.jpg"
    path.write_bytes(JPEG)
    run(aio.send(client(server.api_url, bufsize=256), "motion", attachment=str(path)))
    (msg,) = server.messages()
    att = msg["attachment"]
    assert att["size"] == len(JPEG) and att["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert (Path(server.messages_dir) / att["stored_as"]).read_bytes() == JPEG


def test_bad_input_never_connects(server):
    po = client(server.api_url)
    for call, field in ((lambda: aio.send(po, "x" * 1025), "message"),
                        (lambda: aio.send(po, "x", attachment="/no/such.jpg"), "attachment"),
                        (lambda: aio.retry_send(po, "x", priority=3), "priority")):
        with pytest.raises(FieldError) as info:
            run(call())
        assert info.value.field == field
    assert server.stats()["connections"] == 0


# ---- every fault mode of the local server

EXPECTED = {
    "drop_mid_body": UnknownOutcomeError,  # a text body fits the socket buffers: it went out
    "no_reply": UnknownOutcomeError,
    "500": TemporaryError,
    "503": TemporaryError,
    "429": QuotaError,
    "slow": UnknownOutcomeError,  # the reply comes after the client's timeout
    "chunked": None,
    "keepalive": None,
    "invalid_json": UnknownOutcomeError,
    "oversized": UnknownOutcomeError,
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_fault_mode(server, mode):
    po = client(server.api_url, timeout=CLIENT_TIMEOUT)
    server.set_fault(mode, 1)
    got = outcome(aio.send(po, "fault " + mode))
    assert server.fault_state() == (None, 0), "the fault was not consumed by the send"
    kind = EXPECTED[mode]
    if kind is None:
        assert got.request == server.messages()[0]["request"], got
    else:
        assert type(got) is kind, got
    if mode in ("500", "503"):
        assert got.http_status == int(mode) and got.retry_after >= 5
    if mode == "429":
        assert got.reset == server._quota_state()[2]
    if mode == "slow":
        assert "timed out" in str(got) and len(server.messages()) == 1
    if mode == "oversized":
        assert "larger than %d bytes" % REPLY_CAP in str(got)
    assert run(aio.send(po, "after")).request, "the next send must work again"


def test_timeout_given_to_send_replaces_the_clients(server):
    po = client(server.api_url, timeout=30)
    server.set_fault("slow", 1)
    got = outcome(aio.send(po, "slow", timeout=CLIENT_TIMEOUT))
    assert type(got) is UnknownOutcomeError and "after %s s" % CLIENT_TIMEOUT in str(got), got


def test_encrypted_fields_go_out_sealed(server):
    from localpushover.e2e import decrypt_fields, parse_key

    key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    po = Pushover(TOKEN, USER, api_url=server.api_url, timeout=3, transport=object(),
                  encryption_key=key)
    run(aio.send(po, "T\u00fcr offen", title="Garage"))
    stored = server.messages()[0]["fields"]
    assert stored["encrypted"] == "1" and "offen" not in stored["message"]
    got = decrypt_fields(parse_key(key), stored)
    assert {k: v.text for k, v in got.items()} == {"message": "T\u00fcr offen",
                                                  "title": "Garage"}


def test_drop_mid_body_of_a_large_attachment_is_temporary(server, tmp_path):
    server._httpd.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    server.set_fault("drop_mid_body", 1)
    got = outcome(aio.send(client(server.api_url, bufsize=4096), "big",
                           attachment=big_file(tmp_path)))
    assert type(got) is TemporaryError, got
    assert server.messages() == []


def test_keepalive_connection_carries_the_next_request(server):
    async def two():
        async with aio.Connection(client(server.api_url)) as conn:
            await conn.send("one")
            await conn.send("two")
            return conn.connections

    assert run(two()) == 1
    reqs = api_requests(server, 2)
    assert [r["status"] for r in reqs] == [200, 200]
    assert reqs[0]["connection"] == reqs[1]["connection"]


def test_one_request_at_a_time_on_a_connection(server):
    """A second task sending on a Connection that is busy is refused, not interleaved."""
    server.set_fault("slow", 1)

    async def two_tasks():
        conn = aio.Connection(client(server.api_url, timeout=10))
        first = asyncio.create_task(conn.send("first"))
        while not conn._busy:
            await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError):
            await conn.send("second")
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert not conn._busy and conn._writer is None
        return await conn.send("third")

    assert run(two_tasks()).request
    assert sorted(m["fields"]["message"] for m in server.messages()) == ["first", "third"]


def test_idle_connection_closed_by_the_server_is_replaced(tmp_path):
    srv = start_server(tmp_path / "idle", socket_timeout=0.3)

    async def two():
        async with aio.Connection(client(srv.api_url)) as conn:
            await conn.send("first")
            await asyncio.sleep(0.8)
            await conn.send("second")
            return conn.connections

    try:
        assert run(two()) == 2
    finally:
        srv.stop()
    assert sorted(m["fields"]["message"] for m in srv.messages()) == ["first", "second"]


# ---- a server that takes the connection and then stops reading

class Stalling:
    """Accepts one connection and reads nothing until released (a 64 KB receive buffer, so
    a 5 MB body cannot all fit in the kernels); then reads to the end and notes whether the
    client closed its side. Stops by itself after `max_seconds`."""

    def __init__(self, max_seconds=15):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(max_seconds)
        self.url = "http://127.0.0.1:%d/1" % self.sock.getsockname()[1]
        self.release = threading.Event()
        self.closed_by_client = threading.Event()
        self.max_seconds = max_seconds
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            self.release.wait(self.max_seconds)
            conn.settimeout(5)
            try:
                while conn.recv(65536):
                    pass
                self.closed_by_client.set()
            except OSError:
                self.closed_by_client.set()  # reset by the client: closed too
        self.sock.close()

    def stop(self):
        self.release.set()
        self.thread.join(10)


def test_a_server_stalling_before_the_body_is_out_is_temporary(tmp_path):
    srv = Stalling()
    try:
        got = outcome(aio.send(client(srv.url, timeout=CLIENT_TIMEOUT, bufsize=4096), "big",
                               attachment=big_file(tmp_path)))
    finally:
        srv.stop()
    assert type(got) is TemporaryError, got
    assert "timed out" in str(got)
    assert srv.closed_by_client.is_set(), "the connection was left open"


def test_a_cancelled_send_closes_its_connection(tmp_path):
    srv = Stalling()
    seen = {}

    async def cancel_midway():
        conn = aio.Connection(client(srv.url, timeout=10, bufsize=4096))
        task = asyncio.create_task(conn.send("big", attachment=big_file(tmp_path)))
        while conn._sent == 0 or conn._writer is None:  # the body has started
            await asyncio.sleep(0.01)
        writer = conn._writer
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            seen["cancelled"] = True
        seen["closing"] = writer.is_closing()
        seen["dropped"] = conn._writer is None

    try:
        run(cancel_midway())
    finally:
        srv.stop()
    assert seen == {"cancelled": True, "closing": True, "dropped": True}
    assert srv.closed_by_client.is_set()


# ---- verified TLS

@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def tls_server(cert, **kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ScriptedServer(ssl_context=ctx, **kw)


def tls_send(server, cadata, verify=True, host="localhost", **fields):
    po = client(server.url.replace("127.0.0.1", host) + "/1", bufsize=512)
    return run(aio.send(po, "over TLS", verify=verify, cadata=cadata, **fields))


def test_verified_tls_with_the_right_ca_streams_the_attachment(ca):
    server = tls_server(ca.issue_cert("localhost"))
    try:
        result = tls_send(server, ca.cert_pem.bytes(), attachment=JPEG)
        assert result.request == OK["request"]
        body = server.requests[0]["body"]
        assert int(server.requests[0]["headers"]["content-length"]) == len(body)
        assert JPEG in body, "the attachment did not arrive byte for byte"
    finally:
        server.stop()


@pytest.mark.parametrize("case", ["wrong CA", "bundled roots", "wrong host", "expired"])
def test_a_refused_certificate_is_a_tls_error_before_any_request(ca, case):
    cert = ca.issue_cert("other.example" if case == "wrong host" else "localhost")
    cadata = ca.cert_pem.bytes()
    if case == "wrong CA":
        cadata = trustme.CA().cert_pem.bytes()
    elif case == "bundled roots":
        cadata = None
    elif case == "expired":
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        cert = ca.issue_cert("localhost", not_before=past,
                             not_after=past + datetime.timedelta(days=30))
    server = tls_server(cert)
    try:
        with pytest.raises(TLSError) as info:
            tls_send(server, cadata)
        assert info.value.retry is False and TOKEN not in str(info.value)
        assert server.requests == [], "a request was written over an unverified connection"
    finally:
        server.stop()


def test_verify_false_checks_nothing(ca):
    server = tls_server(trustme.CA().issue_cert("other.example"))
    try:
        assert tls_send(server, None, verify=False).request == OK["request"]
    finally:
        server.stop()


def test_a_tls_refusal_is_never_resent_and_stops_a_flush(ca, tmp_path):
    server = tls_server(ca.issue_cert("other.example"))
    po = client(server.url.replace("127.0.0.1", "localhost") + "/1")
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    try:
        with pytest.raises(TLSError):
            run(aio.retry_send(po, "y", sleep=sleep, cadata=ca.cert_pem.bytes()))
        q = Queue(str(tmp_path / "q.log"))
        q.put("z", po=po)
        sent, aside, left, error = run(aio.flush(q, po, cadata=ca.cert_pem.bytes()))
        assert (sent, aside, left) == (0, 0, 1) and isinstance(error, TLSError)
        assert slept == [] and server.requests == []
    finally:
        server.stop()


# ---- what a sensor runs in the background

def test_flush_sends_in_order_over_one_connection(server, tmp_path):
    po = client(server.api_url)
    q = Queue(str(tmp_path / "q.log"))
    for i in range(5):
        q.put("queued %d" % i, po=po)
    q.put("bad user", user="u" * 29 + "!")  # not checked by put() without po: set aside
    assert run(aio.flush(q, po))[:3] == (5, 1, 0)
    reqs = api_requests(server, 6)
    assert len({r["connection"] for r in reqs}) == 1
    assert sorted(m["fields"]["message"] for m in server.messages()) == [
        "queued %d" % i for i in range(5)]
    assert [a[2] for a in q.set_aside()] == ["bad user"] and len(q) == 0


def test_flush_stops_at_a_temporary_failure_and_keeps_the_rest(server, tmp_path):
    po = client(server.api_url)
    q = Queue(str(tmp_path / "q.log"))
    for i in range(3):
        q.put("m%d" % i)
    server.set_fault("503", 1)
    sent, aside, left, error = run(aio.flush(q, po))
    assert (sent, aside, left) == (0, 0, 3) and isinstance(error, TemporaryError)
    assert [p[1] for p in q.pending()] == ["m0", "m1", "m2"]


def test_flush_out_of_heap_reading_the_log_is_temporary_and_keeps_the_rest(server, tmp_path):
    po = client(server.api_url)
    q = Queue(str(tmp_path / "q.log"))
    for i in range(3):
        q.put("m%d" % i)
    real, reads = q._load, []

    def load(offset):
        reads.append(offset)
        if len(reads) == 2:
            raise MemoryError
        return real(offset)

    q._load = load
    with pytest.raises(TemporaryError, match="stays queued"):
        run(aio.flush(q, po))
    assert [m["fields"]["message"] for m in server.messages()] == ["m0"]
    assert [p[1] for p in Queue(str(tmp_path / "q.log")).pending()] == ["m1", "m2"]


def test_out_of_heap_reading_the_reply_after_the_body_is_unknown(server, monkeypatch):
    """The message went out: a reply that cannot be parsed for want of heap says it may
    have been delivered, never MemoryError (the same guard as the synchronous send)."""
    import pushover.http

    class Json:
        @staticmethod
        def loads(text):
            raise MemoryError

    monkeypatch.setattr(pushover.http, "json", Json)
    with pytest.raises(UnknownOutcomeError, match="out of memory"):
        run(aio.send(client(server.api_url), "sent, unread"))
    assert [m["fields"]["message"] for m in server.messages()] == ["sent, unread"]


def test_retry_send_waits_by_the_rules(server):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    server.set_fault("503", 2)
    result = run(aio.retry_send(client(server.api_url), "again", sleep=sleep))
    assert result.request and slept == [5, 10]
    server.set_fault("503", 5)
    with pytest.raises(TemporaryError):
        run(aio.retry_send(client(server.api_url), "gives up", attempts=3, sleep=sleep))
    assert slept == [5, 10, 5, 10]


def test_retry_send_never_resends_a_refusal(tmp_path):
    srv = start_server(tmp_path / "srv", users=[USER])
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    try:
        with pytest.raises(RejectedError):
            run(aio.retry_send(client(srv.api_url), "x", user="o" * 30, sleep=sleep))
    finally:
        srv.stop()
    assert slept == [] and len(api_requests(srv, 1)) == 1


class FakeTicks:
    def __init__(self):
        self.now = 0
        self.sleeps = []

    def ticks_ms(self):
        return self.now


def test_wait_receipt_polls_every_5_s_until_acknowledged(server, monkeypatch):
    ticks = FakeTicks()
    monkeypatch.setattr(receipts_module, "ticks_ms", ticks.ticks_ms)
    monkeypatch.setattr(aio, "ticks_ms", ticks.ticks_ms)
    po = client(server.api_url)
    receipt = run(aio.send(po, "Water!", priority=2, retry=30, expire=3600)).receipt

    async def sleep(seconds):  # the phone acknowledges while the sensor waits
        ticks.sleeps.append(seconds)
        ticks.now += int(seconds * 1000)
        if len(ticks.sleeps) == 2:
            server.acknowledge(receipt)

    status = run(aio.wait_receipt(po, receipt, timeout=600, sleep=sleep))
    assert status.acknowledged and status.done
    assert ticks.sleeps == [5, 5]
    polls = [r for r in api_requests(server, 4) if "/receipts/" in r["path"]]
    assert len(polls) == 3 and len({r["connection"] for r in polls}) == 1


def test_wait_receipt_gives_up_at_the_deadline(server, monkeypatch):
    ticks = FakeTicks()
    monkeypatch.setattr(receipts_module, "ticks_ms", ticks.ticks_ms)
    monkeypatch.setattr(aio, "ticks_ms", ticks.ticks_ms)
    po = client(server.api_url)
    receipt = run(aio.send(po, "Water!", priority=2, retry=30, expire=3600)).receipt

    async def sleep(seconds):
        ticks.sleeps.append(seconds)
        ticks.now += int(seconds * 1000)

    status = run(aio.wait_receipt(po, receipt, timeout=12, sleep=sleep))
    assert not status.done and ticks.sleeps == [5, 5]
    with pytest.raises(FieldError):
        run(aio.wait_receipt(po, receipt, timeout=-1))


def test_other_tasks_run_while_an_attachment_goes_out(server, tmp_path):
    """Another task keeps running during a 2 MB send: it yields with sleep(0), so it runs
    whenever the send gives the loop a turn, however fast or loaded the machine (how long the
    gaps are is measured by `make bench`, not asserted here)."""
    wakes = []

    async def main():
        done = asyncio.Event()

        async def ticker():
            while not done.is_set():
                await asyncio.sleep(0)
                wakes.append(time.monotonic())

        tick = asyncio.create_task(ticker())
        result = await aio.send(client(server.api_url, bufsize=4096), "big",
                                attachment=big_file(tmp_path, 2_000_000))
        done.set()
        await tick
        return result

    server._httpd.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    assert run(main()).request
    assert len(wakes) >= 20, "the loop was blocked for the whole send"
