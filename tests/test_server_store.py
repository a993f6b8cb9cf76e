"""What the local server keeps (tools/localpushover/store.py): receipts and quota on an injected
clock, messages across restarts; directly and through the API.
"""

import base64
import json
from urllib.parse import quote, urlencode

import pytest

from api_cases import OTHER_TOKEN, PNG, TOKEN, USER, USER2
from fake_time import FakeTime
from server_helpers import (  # noqa: F401
    JPEG,
    RECEIPT_FIELDS,
    assert_error_shape,
    assert_ok,
    call,
    emergency,
    fields,
    make_server,
    multipart_with,
    poll,
    send,
    send_multipart,
    srv_fixture,
)

pytestmark = pytest.mark.timeout(20)  # a hang becomes a failure


def test_receipt_poll_acknowledge_from_python(tmp_path):
    clock = FakeTime(1_700_000_000)
    with make_server(tmp_path, clock=clock.clock) as srv:
        receipt = emergency(srv, callback="https://example.invalid/cb", expire="600")
        state = assert_ok(poll(srv, receipt))
        assert RECEIPT_FIELDS <= set(state)
        assert (state["acknowledged"], state["expired"], state["called_back"]) == (0, 0, 0)
        assert state["expires_at"] == 1_700_000_000 + 600
        assert state["last_delivered_at"] == 1_700_000_000
        clock.now += 95  # three re-alerts at 30 s
        assert poll(srv, receipt).json["last_delivered_at"] == 1_700_000_000 + 90
        acked = srv.acknowledge(receipt, device="watch")
        assert (acked["acknowledged"], acked["acknowledged_at"]) == (1, 1_700_000_095)
        state = assert_ok(poll(srv, receipt))
        assert (state["acknowledged"], state["acknowledged_by"],
                state["acknowledged_by_device"]) == (1, USER, "watch")
        assert (state["called_back"], state["called_back_at"]) == (1, 1_700_000_095)
        clock.now += 60  # no more re-alerts after the acknowledgement
        assert poll(srv, receipt).json["last_delivered_at"] == 1_700_000_000 + 90
        assert srv.acknowledge(receipt)["acknowledged_at"] == 1_700_000_095  # twice: no change
        with pytest.raises(KeyError):
            srv.acknowledge("N" * 30)
        # acknowledging through the control endpoint, by another user
        r2 = emergency(srv)
        r = call(srv, "POST", "/_control/ack/" + r2, json.dumps({"user": USER2}),
                 ctype="application/json")
        assert r.status == 200 and r.json["acknowledged"] == 1
        assert poll(srv, r2).json["acknowledged_by"] == USER2
        assert call(srv, "POST", "/_control/ack/" + "N" * 30, b"").status == 404


def test_receipt_expiry_realert_cap_and_lifetime(tmp_path):
    clock = FakeTime(1_700_000_000)
    with make_server(tmp_path, clock=clock.clock) as srv:
        receipt = emergency(srv, retry="30", expire="10800")
        clock.now += 10800
        state = poll(srv, receipt).json
        assert state["expired"] == 1 and state["acknowledged"] == 0
        # 360 intervals of 30 s fit in 10800 s, but the server stops after 50 re-alerts
        assert state["last_delivered_at"] == 1_700_000_000 + 50 * 30
        with pytest.raises(ValueError):
            srv.acknowledge(receipt)
        clock.now = 1_700_000_000 + 7 * 24 * 3600 + 1  # receipts live a week
        r = poll(srv, receipt)
        assert r.status == 404 and r.json["status"] == 0 and r.json["receipt"] == "not found"


def test_receipt_cancel(srv):
    receipt = emergency(srv)
    r = call(srv, "POST", "/1/receipts/%s/cancel.json" % receipt, urlencode({"token": TOKEN}))
    assert_ok(r)
    state = poll(srv, receipt).json
    assert (state["expired"], state["canceled"], state["acknowledged"]) == (1, 1, 0)
    assert state["canceled_at"] > 0
    with pytest.raises(ValueError):
        srv.acknowledge(receipt)
    # unknown receipt, a receipt of another application, a bad token
    assert call(srv, "POST", "/1/receipts/%s/cancel.json" % ("Q" * 30),
                urlencode({"token": TOKEN})).status == 404
    mine = emergency(srv)
    assert poll(srv, mine, token=OTHER_TOKEN).status == 404
    r = call(srv, "POST", "/1/receipts/%s/cancel.json" % mine, urlencode({"token": OTHER_TOKEN}))
    assert r.status == 404
    assert poll(srv, mine).json["expired"] == 0
    assert_error_shape(call(srv, "POST", "/1/receipts/%s/cancel.json" % mine,
                            urlencode({"token": "bad"})), ["token"])
    assert_error_shape(poll(srv, mine, token="bad"), ["token"])


def test_receipt_cancel_by_tag_with_spaces_and_slashes(srv):
    tag = "site A/door 1"
    a = emergency(srv, tags=tag + ",other")
    b = emergency(srv, tags=" %s " % tag)
    c = emergency(srv, tags="site A")
    d = emergency(srv, tags=tag, token=OTHER_TOKEN)
    path = "/1/receipts/cancel_by_tag/%s.json" % quote(tag, safe="")
    assert "/" not in quote(tag, safe="")
    p = assert_ok(call(srv, "POST", path, urlencode({"token": TOKEN})))
    assert p["canceled"] == 2
    assert [poll(srv, x).json["expired"] for x in (a, b, c)] == [1, 1, 0]
    assert poll(srv, d, token=OTHER_TOKEN).json["expired"] == 0
    assert call(srv, "POST", path, urlencode({"token": TOKEN})).json["canceled"] == 0
    # the tag is one path segment: an unencoded slash does not match the route
    assert call(srv, "POST", "/1/receipts/cancel_by_tag/site%20A/door%201.json",
                urlencode({"token": TOKEN})).status == 404


def test_quota_resets_at_the_start_of_the_month(tmp_path):
    clock = FakeTime(1_735_689_590)  # 2024-12-31 23:59:50 UTC
    with make_server(tmp_path, quota=1, clock=clock.clock) as srv:
        r = send(srv)
        assert r.header("X-Limit-App-Reset") == "1735689600"  # 2025-01-01 00:00:00 UTC
        assert send(srv).status == 429
        clock.now = 1_735_689_600
        r = send(srv)
        assert r.status == 200 and r.header("X-Limit-App-Remaining") == "0"
        assert r.header("X-Limit-App-Reset") == "1738368000"  # 2025-02-01


def test_messages_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    with make_server(data) as first:
        assert_ok(send(first, message="text only"))
        assert_ok(send_multipart(first, multipart_with(("cam.png", PNG, "image/png"),
                                                       [("title", "with image")])))
        assert_ok(send(first, message="b64", attachment_type="image/jpeg",
                       attachment_base64=base64.b64encode(JPEG).decode()))
        receipt = emergency(first, message="urgent")
        assert_ok(call(first, "POST", "/1/glances.json",
                       urlencode({"token": TOKEN, "user": USER, "count": "5"})))
        before = first.messages()
        png_url = before[2]["attachment"]["url"]
    assert not first.running
    with make_server(data) as second:
        after = second.messages()
        assert [m["id"] for m in after] == [m["id"] for m in before]
        assert after == before
        assert [m["fields"]["message"] for m in after] == ["urgent", "b64", "hello", "text only"]
        r = call(second, "GET", png_url)
        assert r.status == 200 and r.body == PNG and r.header("Content-Type") == "image/png"
        r = call(second, "GET", after[1]["attachment"]["url"])
        assert r.body == JPEG
        assert second.glances()[0]["fields"]["count"] == "5"
        state = assert_ok(poll(second, receipt))  # the receipt is still known to its token
        assert state["acknowledged"] == 0
        assert poll(second, receipt, token=OTHER_TOKEN).status == 404
        second.acknowledge(receipt)
        assert_ok(send(second, message="newest"))
        assert second.messages()[0]["fields"]["message"] == "newest"
        assert second.messages()[0]["seq"] > after[0]["seq"]
    with make_server(data) as third:
        assert poll(third, receipt).json["acknowledged"] == 1
        assert len(third.messages()) == 5


def test_attachment_named_json_does_not_become_a_message(tmp_path):
    data = tmp_path / "data"
    fake = json.dumps({"seq": 99999, "id": "fake"}).encode()
    with make_server(data) as first:
        assert_ok(send_multipart(first, multipart_with(("evil.json", fake, "image/png"))))
        stored_as = first.messages()[0]["attachment"]["stored_as"]
    with make_server(data) as second:
        assert [m["attachment"]["stored_as"] for m in second.messages()] == [stored_as]
        assert call(second, "GET", "/").status == 200
        assert call(second, "GET", second.messages()[0]["attachment"]["url"]).body == fake


def test_restart_of_the_same_object(tmp_path):
    srv = make_server(tmp_path, quota=2)
    with srv:
        assert_ok(send(srv, message="before"))
        assert_ok(send(srv))
        assert send(srv).status == 429
        port = srv.port
    assert not srv.running
    with srv:  # same port, same messages, and the quota counted afresh (documented)
        assert srv.port == port
        assert [m["fields"]["message"] for m in srv.messages()] == ["hello", "before"]
        r = send(srv)
        assert r.status == 200 and r.header("X-Limit-App-Remaining") == "1"


# ---- the store on its own: no sockets, a fake clock

def make_store(tmp_path, now=1_700_000_000, **kw):
    from fake_time import FakeTime
    from localpushover.store import Store

    t = FakeTime(now)
    store = Store(tmp_path / "store", clock=t.clock, **kw)
    store.load()
    return store, t


def add_emergency(store, retry=60, expire=600, tags="", token=TOKEN):
    f = dict(fields(priority="2", retry=str(retry), expire=str(expire)), token=token)
    if tags:
        f["tags"] = tags
    return store.add_message(f, None, "form", "req", {}, emergency=True)


def test_store_quota_counts_down_and_resets_on_the_first_of_the_month(tmp_path):
    store, t = make_store(tmp_path, now=1_701_388_799, quota=2)  # 2023-11-30 23:59:59 UTC
    assert store.quota_state() == (2, 2, 1_701_388_800)
    assert store.take_quota() and store.take_quota() and not store.take_quota()
    assert store.limit_headers()[1] == ("X-Limit-App-Remaining", "0")
    t.now += 1  # 2023-12-01 00:00:00
    assert store.quota_state() == (2, 2, 1_704_067_200)  # then 2024-01-01


def test_store_receipt_realerts_acknowledge_and_masking(tmp_path):
    store, t = make_store(tmp_path)
    receipt = add_emergency(store, retry=60, expire=600)
    t.now += 150
    state = store.receipt_state(receipt, TOKEN)
    assert state["last_delivered_at"] == 1_700_000_000 + 120  # two re-alerts so far
    assert (state["acknowledged"], state["expired"]) == (0, 0)
    state = store.acknowledge(receipt, device="watch")
    assert (state["acknowledged"], state["acknowledged_at"]) == (1, 1_700_000_150)
    assert (state["acknowledged_by"], state["acknowledged_by_device"]) == (USER, "watch")
    t.now += 1000
    assert store.receipt_state(receipt, TOKEN)["last_delivered_at"] == 1_700_000_120
    saved = json.loads((store.messages_dir / (store.messages()[0]["id"] + ".json")).read_text())
    assert saved["receipt"]["acknowledged_by"] == USER[:4] + "\u2026"


def test_store_receipt_of_another_token_expiry_and_lifetime(tmp_path):
    from localpushover.store import RECEIPT_LIFETIME, ReceiptNotFound

    store, t = make_store(tmp_path)
    receipt = add_emergency(store, retry=30, expire=60)
    with pytest.raises(ReceiptNotFound):
        store.receipt_state(receipt, OTHER_TOKEN)
    t.now += 60
    assert store.receipt_state(receipt, TOKEN)["expired"] == 1
    with pytest.raises(ValueError, match="expired"):
        store.acknowledge(receipt)
    t.now = 1_700_000_000 + RECEIPT_LIFETIME + 1
    with pytest.raises(ReceiptNotFound):
        store.receipt_state(receipt, TOKEN)


def test_store_cancel_and_cancel_by_tag(tmp_path):
    store, t = make_store(tmp_path)
    one = add_emergency(store, tags="door, garage")
    two = add_emergency(store, tags="door")
    other = add_emergency(store, tags="door", token=OTHER_TOKEN)
    t.now += 5
    store.cancel(one, TOKEN)
    state = store.receipt_state(one, TOKEN)
    assert (state["expired"], state["canceled"], state["canceled_at"]) == (1, 1, 1_700_000_005)
    assert store.cancel_by_tag("door", TOKEN) == 1  # `one` is cancelled already
    assert store.receipt_state(two, TOKEN)["canceled"] == 1
    assert store.receipt_state(other, OTHER_TOKEN)["expired"] == 0
    with pytest.raises(ValueError, match="cancelled"):
        store.acknowledge(two)


def test_store_keeps_attachment_and_reloads(tmp_path):
    store, _ = make_store(tmp_path)
    store.add_message(fields(message="img"), ("image/png", PNG, "x.png"), "multipart", "r1", {})
    store.add_glance({"token": TOKEN, "user": USER, "count": "3"}, "r2")
    again, _ = make_store(tmp_path)
    (m,) = again.messages()
    assert m["attachment"]["size"] == len(PNG) and m["attachment"]["stored_as"].endswith(".png")
    path, ctype = again.attachment_file(m["attachment"]["stored_as"])
    assert path.read_bytes() == PNG and ctype == "image/png"
    assert again.glances()[0]["fields"]["count"] == "3"
    assert again.attachment_file("nothing.png") is None
