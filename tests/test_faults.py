"""The fault matrix: the durable queue and the retry layer against every fault mode of the local
Pushover server (tools/pushover_server.py), over real loopback sockets, with both transports.

For each fault mode x transport x policy, four messages are queued: three good ones and one the
server refuses (a user key it does not know). The fault hits the second message only; the
queue is flushed with the fault on, then again with it off. Counted on the server's side:

- nothing accepted is lost: every good message is stored at least once, unless the outcome was
  unknown and the policy gave up on it ("raise"), in which case it is set aside with the
  reason (never silently gone);
- nothing is stored twice, except a message whose outcome was unknown under "resend";
- the refused message is set aside with the server's reason, never resent;
- a temporary error or a 429 stops the flush and keeps the rest, in order.

Policies: "resend" and "raise" are the names of retry.send(on_unknown=...); the queue's own
names for them are "resend" and "drop" (set aside instead of resending).

`python tools/fault_table.py` runs the same matrix and prints it as a table: fault mode |
transport | policy | what the library raises | stored | duplicates | left in queue | set aside.
"""

import time
from collections import Counter

import pytest

from fake_time import FakeTime
from live import (
    CLIENT_TIMEOUT,
    FAULT_MODES,
    OTHER_USER,
    TRANSPORTS,
    USER,
    api_requests,
    client,
    close,
    start_server,
)
from pushover import QuotaError, TemporaryError, UnknownOutcomeError
from pushover import retry as retry_module
from pushover.http import UrequestsTransport
from pushover.queue import Queue

pytestmark = pytest.mark.timeout(20)  # a hang becomes a failure

POLICIES = ("resend", "raise")
QUEUE_POLICY = {"resend": "resend", "raise": "drop"}
STORES_ON_FAULT = {"slow", "chunked", "keepalive", "invalid_json", "oversized"}
# what flushing the faulted message raises (None: it went through)
EXPECTED = {
    "drop_mid_body": UnknownOutcomeError,  # a small body is all out before the server hangs up
    "no_reply": UnknownOutcomeError,
    "500": TemporaryError,
    "503": TemporaryError,
    "429": QuotaError,
    "slow": UnknownOutcomeError,
    "chunked": None,  # but UnknownOutcomeError through requests 0.10 (firmware up to v1.28)
    "keepalive": None,
    "invalid_json": UnknownOutcomeError,
    "oversized": UnknownOutcomeError,
}




class FaultOnNth:
    """A transport that switches the server's fault on just before its nth request."""

    def __init__(self, inner, server, mode, nth):
        self.inner = inner
        self.server = server
        self.mode = mode
        self.nth = nth
        self.calls = 0

    def request(self, method, url, form=None, timeout=None, secrets=()):
        self.calls += 1
        if self.calls == self.nth:
            self.server.set_fault(self.mode, 1)
        return self.inner.request(method, url, form, timeout, secrets)

    def close(self):
        if hasattr(self.inner, "close"):
            self.inner.close()


def expected_error(mode, transport):
    if mode == "chunked" and transport == "requests-0.10":
        return UnknownOutcomeError  # documented: requests before 1.1 raise on a chunked reply
    return EXPECTED[mode]


def run_matrix_case(tmp_path, mode, transport, policy):
    """Queue four messages, flush with the fault on the second, flush again; returns a dict of
    what happened (asserting the rules on the way)."""
    srv = start_server(tmp_path / "server", users=[USER])
    po = client(srv, transport, timeout=CLIENT_TIMEOUT)
    inner = po.transport if po.transport is not None else UrequestsTransport()
    po.transport = FaultOnNth(inner, srv, mode, nth=2)
    q = Queue(str(tmp_path / "alerts.q"))
    good = ["%s %s %s #%d" % (mode, transport, policy, i) for i in (1, 2, 4)]
    refused = "%s %s %s #3 (unknown user)" % (mode, transport, policy)
    q.put(good[0], title="t1")
    q.put(good[1], title="t2")
    q.put(refused, user=OTHER_USER)
    q.put(good[2], title="t4")
    try:
        started = time.monotonic()
        sent1, aside1, left1, error1 = q.flush(po, on_unknown=QUEUE_POLICY[policy])
        elapsed = time.monotonic() - started
        assert srv.fault_state() == (None, 0), "the fault was not used"
        pending_after_fault = [m for _, m, _ in q.pending()]
        sent2, aside2, left2, error2 = q.flush(po, on_unknown=QUEUE_POLICY[policy])
    finally:
        close(po)
        srv.stop()
    stored = Counter(m["fields"]["message"] for m in srv.messages())
    order = [m["fields"]["message"] for m in sorted(srv.messages(), key=lambda m: m["seq"])]
    aside = {message: reason for _, reason, message in q.set_aside()}
    return {
        "flush1": (sent1, aside1, left1, error1), "flush2": (sent2, aside2, left2, error2),
        "pending_after_fault": pending_after_fault, "stored": stored, "order": order,
        "aside": aside, "good": good, "refused": refused, "elapsed": elapsed,
        "left_end": len(q), "requests": len(api_requests(srv)),
    }


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", FAULT_MODES)
def test_queue_fault_matrix(tmp_path, mode, transport, policy):
    r = run_matrix_case(tmp_path, mode, transport, policy)
    want = expected_error(mode, transport)
    sent1, aside1, left1, error1 = r["flush1"]
    m1, m2, m4 = r["good"]
    stored, aside = r["stored"], r["aside"]

    # what the library raised for the faulted message
    if want is None:
        assert error1 is None, error1
    else:
        assert isinstance(error1, want), (error1, want)

    unknown = isinstance(error1, UnknownOutcomeError)
    stops = isinstance(error1, (TemporaryError, QuotaError)) or (unknown and policy == "resend")
    if stops:  # the flush stopped at m2 and kept it and the rest, in order
        assert (sent1, aside1, left1) == (1, 0, 3)
        assert r["pending_after_fault"] == [m2, r["refused"], m4]
    elif unknown:  # "raise": m2 set aside, the flush goes on
        assert (sent1, aside1, left1) == (2, 2, 0)
        assert aside[m2].startswith("outcome unknown: ")
    else:
        assert (sent1, aside1, left1) == (3, 1, 0)

    # the second flush, fault off, empties the queue
    assert r["flush2"][3] is None and r["flush2"][2] == 0 and r["left_end"] == 0

    # the refused message: set aside with the server's reason, sent once, never stored
    assert stored[r["refused"]] == 0
    assert "user identifier is invalid" in aside[r["refused"]]
    assert "HTTP 400" in aside[r["refused"]]

    # the good messages: none lost, none twice unless unknown + resend
    assert stored[m1] == 1 and stored[m4] == 1
    stored_by_fault = 1 if mode in STORES_ON_FAULT else 0
    if error1 is None:
        assert stored[m2] == 1
    elif unknown and policy == "raise":
        assert stored[m2] == stored_by_fault, "given up: stored only if the server kept it"
    else:  # resent by the second flush
        assert stored[m2] == stored_by_fault + 1
    if stored[m2] > 1:
        assert unknown and policy == "resend"
    if stored[m2] == 0:
        assert unknown and policy == "raise" and m2 in aside
    # order: first arrivals are m1, m2, m4
    firsts = [m for i, m in enumerate(r["order"]) if m not in r["order"][:i]]
    assert firsts == [m for m in (m1, m2, m4) if stored[m]]



def table_row(r, mode, transport, policy):
    """One row of the fault table (tools/fault_table.py) from run_matrix_case()'s result."""
    sent1, aside1, left1, error1 = r["flush1"]
    stored = r["stored"]
    good = r["good"]
    return (mode, transport, policy, "-" if error1 is None else type(error1).__name__,
            "%d/3" % sum(1 for m in good if stored[m]),
            str(sum(max(stored[m] - 1, 0) for m in good)), str(left1), str(aside1))


def format_table(rows):
    head = ("fault mode", "transport", "policy", "library raises", "stored on server",
            "duplicates", "left in queue", "set aside")
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    lines = ["| " + " | ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) + " |"
             for row in [head] + list(rows)]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# ----------------------------------------------------------------------- the retry layer



@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path / "server")
    yield srv
    srv.stop()


@pytest.fixture(params=TRANSPORTS)
def po(request, server):
    p = client(server, request.param, timeout=CLIENT_TIMEOUT)
    yield p
    close(p)


def messages(server):
    return [m["fields"]["message"] for m in server.messages()]


def test_retry_503_then_success(server, po):
    server.set_fault("503", 2)
    t = FakeTime()
    result = retry_module.send(po, "pump failed", sleep=t.sleep, clock=t.clock)
    assert result.request and messages(server) == ["pump failed"]
    assert t.sleeps == [5, 10], "at least 5 s after a failure, then growing"
    assert [r["status"] for r in api_requests(server, 3)] == [503, 503, 200]


def test_retry_delays_are_bounded_and_it_gives_up(server, po):
    server.set_fault("500", None)  # every request fails
    t = FakeTime()
    with pytest.raises(TemporaryError):
        retry_module.send(po, "x", attempts=7, max_delay=30, deadline=10_000, sleep=t.sleep,
                          clock=t.clock)
    assert t.sleeps == [5, 10, 20, 30, 30, 30]
    assert all(b >= a for a, b in zip(t.sleeps, t.sleeps[1:], strict=False))
    assert len(api_requests(server, 7)) == 7 and messages(server) == []
    server.set_fault(None)
    t = FakeTime()
    server.set_fault("503", None)
    with pytest.raises(TemporaryError):
        retry_module.send(po, "x", attempts=50, deadline=60, sleep=t.sleep, clock=t.clock)
    assert sum(t.sleeps) <= 60 and t.sleeps == [5, 10, 20], "the deadline bounds the waits"


def test_retry_after_429_waits_for_the_reset(server, po):
    _, _, reset = server._quota_state()
    server.set_fault("429", 1)
    t = FakeTime()
    result = retry_module.send(po, "after the reset", deadline=40 * 86400, sleep=t.sleep,
                               clock=t.clock)
    assert result.request and messages(server) == ["after the reset"]
    (wait,) = t.sleeps
    assert wait >= 5 and abs(wait - (reset - time.time())) < 5, (wait, reset)
    # a reset beyond the deadline: raised at once, no wait, one request
    server.set_fault("429", 1)
    t = FakeTime()
    with pytest.raises(QuotaError) as info:
        retry_module.send(po, "too late", deadline=600, sleep=t.sleep, clock=t.clock)
    assert t.sleeps == [] and info.value.reset == reset
    assert messages(server) == ["after the reset"]


@pytest.mark.parametrize("mode", ["no_reply", "invalid_json"])
def test_retry_unknown_outcome_policies(server, po, mode):
    stored_by_fault = 1 if mode in STORES_ON_FAULT else 0
    server.set_fault(mode, 1)
    t = FakeTime()
    assert retry_module.send(po, "resend", sleep=t.sleep, clock=t.clock).request
    assert t.sleeps == [5]
    assert messages(server).count("resend") == stored_by_fault + 1
    server.set_fault(mode, 1)
    t = FakeTime()
    with pytest.raises(UnknownOutcomeError):
        retry_module.send(po, "raise", on_unknown="raise", sleep=t.sleep, clock=t.clock)
    assert t.sleeps == [] and messages(server).count("raise") == stored_by_fault


def test_retry_never_resends_a_refused_message(tmp_path):
    srv = start_server(tmp_path / "srv", users=[USER])
    po = client(srv, "socket")
    t = FakeTime()
    try:
        with pytest.raises(Exception) as info:
            retry_module.send(po, "x", user=OTHER_USER, sleep=t.sleep, clock=t.clock)
    finally:
        close(po)
        srv.stop()
    assert type(info.value).__name__ == "RejectedError"
    assert t.sleeps == [] and len(api_requests(srv, 1)) == 1


def test_queue_429_keeps_everything(tmp_path):
    """The quota runs out in the middle of a flush: it stops there and keeps the rest."""
    srv = start_server(tmp_path / "srv", quota=2)
    po = client(srv, "socket")
    q = Queue(str(tmp_path / "q"))
    for i in range(5):
        q.put("reading %d" % i)
    try:
        sent, aside, left, error = q.flush(po)
        again = q.flush(po)
    finally:
        close(po)
        srv.stop()
    assert (sent, aside, left) == (2, 0, 3) and isinstance(error, QuotaError)
    assert error.reset and error.retry_after > 0
    assert again[:3] == (0, 0, 3) and isinstance(again[3], QuotaError)
    assert [m for _, m, _ in q.pending()] == ["reading 2", "reading 3", "reading 4"]
    assert sorted(messages(srv)) == ["reading 0", "reading 1"]
