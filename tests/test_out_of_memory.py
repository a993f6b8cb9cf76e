"""A heap too small for a send never surfaces as a MemoryError: each place where the board can
run out (loading the attachment path, the error texts or outcome.py on demand, the body's
buffer, the transport's first allocations, reading the reply) gives a PushoverError that says
whether a resend can help. Here the MemoryError is injected; `make bench-native` runs the
same sends on every heap between the one the import needs and the one the send needs."""

import builtins
import sys

import pytest

import pushover
import pushover.form
from pushover import (
    FieldError,
    Pushover,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
)
from pushover.api import call
from pushover.http import UrequestsTransport, failure, out_of_memory

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
JPEG = b"\xff\xd8\xff\xe0" + bytes(3000)
OK = b'{"status":1,"request":"r-1"}'


class Recorder:
    """A transport that records each request and answers `status` with `body`."""

    head_room = 0

    def __init__(self, status=200, body=OK):
        self.calls = []
        self.status, self.body = status, body

    def request(self, method, url, form=None, timeout=None, secrets=()):
        if form is not None:
            b"".join(bytes(c) for c in form.chunks())
        self.calls.append(url)
        return self.status, {}, self.body


def no_heap_to_load(monkeypatch, *names):
    """Loading pushover.<name> raises MemoryError, as loading its .mpy does on a full heap."""
    real = builtins.__import__
    for name in names:
        monkeypatch.delitem(sys.modules, "pushover." + name, raising=False)

    def load(name, globals=None, locals=None, fromlist=(), level=0):
        if level and name in names and (globals or {}).get("__package__") == "pushover":
            raise MemoryError("memory allocation failed")
        return real(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", load)


def test_no_heap_for_the_attachment_path_sends_nothing_and_keeps_the_buffer(monkeypatch):
    transport = Recorder()
    po = Pushover(TOKEN, USER, transport=transport)
    no_heap_to_load(monkeypatch, "attach")
    with pytest.raises(TemporaryError) as got:
        po.send("Motion", attachment=JPEG)
    assert got.value.retry is True and "nothing was sent" in str(got.value)
    assert transport.calls == []
    assert po._spare is not None and po._spare is po._lent, "the buffer was not lent"
    monkeypatch.undo()  # the heap has room again: the same send works, through that buffer
    lent = po._lent
    assert po.send("Motion", attachment=JPEG).request == "r-1"
    assert po._lent is lent and po._spare is lent and len(transport.calls) == 1


def test_no_heap_for_the_texts_still_names_the_field(monkeypatch):
    po = Pushover(TOKEN, USER, transport=Recorder())
    no_heap_to_load(monkeypatch, "texts")
    with pytest.raises(FieldError) as got:
        po.send("x", title=5)
    assert got.value.field == "title" and str(got.value).startswith("title: rule ")


@pytest.mark.parametrize("sent, length, error", [
    (0, 120, TemporaryError),  # nothing went out
    (60, 120, TemporaryError),  # part of the body: the server cannot have acted on it
    (120, 120, UnknownOutcomeError),  # all of it: it may have been delivered
    (0, 0, TemporaryError),  # a request without a body
])
def test_no_heap_to_load_outcome_says_what_the_bytes_sent_tell(monkeypatch, sent, length,
                                                               error):
    no_heap_to_load(monkeypatch, "outcome")
    got = failure(OSError(104), sent, length, ("secret",), "network error")
    assert type(got) is error and "out of memory" in str(got)


class Requests:
    """A requests module that fails as told, after taking `take` chunks of the body."""

    def __init__(self, error, take=0):
        self.error, self.take = error, take

    def request(self, method, url, data=None, headers=None, timeout=None, parse_headers=True):
        if data is not None and self.take:
            for _ in data:
                pass
        raise self.error


@pytest.mark.parametrize("take, error", [(0, TemporaryError), (1, UnknownOutcomeError)])
def test_the_requests_transport_without_heap_to_classify(monkeypatch, take, error):
    """The body all sent (or not) and then a failure, with no heap to load outcome.py."""
    po = Pushover(TOKEN, USER, transport=UrequestsTransport(Requests(OSError(110), take)))
    no_heap_to_load(monkeypatch, "outcome")
    with pytest.raises(error):
        po.send("Door open")


def test_a_memory_error_inside_requests_is_temporary_before_the_body():
    po = Pushover(TOKEN, USER, transport=UrequestsTransport(Requests(MemoryError())))
    with pytest.raises(TemporaryError):
        po.send("Door open")


@pytest.mark.parametrize("body_out, error", [(False, TemporaryError),
                                              (True, UnknownOutcomeError)])
def test_a_memory_error_past_the_transport_says_what_went_out(body_out, error):
    """Where a transport could not even classify a failure: its body_out decides (a
    transport without one counts as having sent nothing whole)."""

    class Full(Recorder):
        def request(self, *args):
            self.body_out = body_out
            raise MemoryError

    with pytest.raises(error):
        Pushover(TOKEN, USER, transport=Full()).send("Door open")


def test_what_the_last_request_sent_does_not_speak_for_this_one(monkeypatch):
    """A request that ran out of heap before its transport began (here making its list of
    secrets) sent nothing: the previous request's body_out (True: it went out whole) must not
    make it an UnknownOutcomeError."""
    transport = UrequestsTransport(Requests(OSError(110), take=1))
    po = Pushover(TOKEN, USER, transport=transport)
    with pytest.raises(UnknownOutcomeError):  # all of it out, then the connection died
        po.send("Door open")
    assert transport.body_out is True

    def no_heap(form=None):
        raise MemoryError

    monkeypatch.setattr(po, "secrets", no_heap)
    with pytest.raises(TemporaryError, match="not all sent"):
        po.send("Door open")


def test_no_heap_for_a_text_body_is_temporary_not_bufsize(monkeypatch):
    """A text form's buffer is sized to its body: bufsize is not what to change."""

    def full(n=0):
        raise MemoryError

    transport = Recorder()
    po = Pushover(TOKEN, USER, transport=transport)
    monkeypatch.setattr(pushover.form, "bytearray", full, raising=False)
    with pytest.raises(TemporaryError):
        po.send("Door open")
    with pytest.raises(TemporaryError):  # an API call's form too
        call(po, "POST", "users/validate.json", [("user", USER)])
    assert transport.calls == []


@pytest.mark.parametrize("status, body_out, error", [
    (200, True, UnknownOutcomeError),  # accepted, may have been delivered
    (200, False, TemporaryError),  # a GET: nothing to deliver twice
    (400, True, TemporaryError),  # a resend, with room, is told again what was wrong
    (503, True, TemporaryError)])
def test_no_heap_to_read_the_reply(monkeypatch, status, body_out, error):
    class Json:
        @staticmethod
        def loads(text):
            raise MemoryError

    class Sent(Recorder):
        def request(self, *args):
            self.body_out = body_out
            return super().request(*args)

    monkeypatch.setattr(pushover.http, "json", Json)
    with pytest.raises(error) as got:
        Pushover(TOKEN, USER, transport=Sent(status)).send("Door open")
    assert "out of memory" in str(got.value)


def test_with_heap_the_same_replies_are_what_they_are():
    """The guards change nothing when memory suffices (the reply decides)."""
    with pytest.raises(RejectedError):
        Pushover(TOKEN, USER, transport=Recorder(400, b'{"status":0,"errors":["bad"]}')).send(
            "x")
    assert Pushover(TOKEN, USER, transport=Recorder()).send("x").request == "r-1"


def test_no_heap_for_an_aio_connection_sends_nothing(monkeypatch, tmp_path):
    """pushover.aio's entry points make their Connection after the form: a heap too small
    for it is the TemporaryError po.form() gives, and a queue keeps its messages."""
    import asyncio

    from pushover import aio
    from pushover.queue import Queue

    def full(self, *args, **kw):
        raise MemoryError

    monkeypatch.setattr(aio.Connection, "__init__", full)
    po = Pushover(TOKEN, USER, api_url="http://127.0.0.1:9/1")
    with pytest.raises(TemporaryError, match="nothing was sent"):
        asyncio.run(aio.send(po, "Door open"))
    q = Queue(str(tmp_path / "q.log"))
    q.put("kept")
    with pytest.raises(TemporaryError):
        asyncio.run(aio.flush(q, po))
    assert [m for _, m, _ in q.pending()] == ["kept"]


@pytest.mark.parametrize("entry, module", [("retry_send", "retry"),
                                           ("wait_receipt", "receipts")])
def test_no_heap_to_load_what_an_aio_entry_point_needs_sends_nothing(entry, module,
                                                                     monkeypatch):
    """aio.retry_send and aio.wait_receipt load retry.py and receipts.py when first called:
    on a heap too small for that, the TemporaryError of a send that sent nothing."""
    import asyncio

    from pushover import aio

    po = Pushover(TOKEN, USER, api_url="http://127.0.0.1:9/1")
    no_heap_to_load(monkeypatch, module)
    call = (aio.retry_send(po, "Door open") if entry == "retry_send"
            else aio.wait_receipt(po, "r" * 30, timeout=10))
    with pytest.raises(TemporaryError, match="nothing was sent"):
        asyncio.run(call)


@pytest.mark.parametrize("sent, status, error", [
    (True, None, UnknownOutcomeError),  # all out, nothing read back: it may have arrived
    (True, 200, UnknownOutcomeError),  # a 2xx whose reading or parsing ran out
    (True, 400, TemporaryError),  # a refusal, which a resend with room will hear again
    (True, 500, TemporaryError),
    (False, None, TemporaryError),  # not all out: it cannot have been delivered
    (False, 200, TemporaryError),
])
def test_one_rule_for_a_heap_that_ran_out_once_past_the_form(sent, status, error):
    """out_of_memory() is the rule Pushover.request, aio's Connection.request and failure()'s
    fallback all use: only a request that went out whole with no reply but a 2xx may have
    been delivered."""
    got = out_of_memory(sent, status)
    assert type(got) is error and str(got).startswith("out of memory")
    if status is None:  # failure()'s fallback, where not even outcome.py could be loaded
        assert type(failure_without_outcome(sent)) is error


def failure_without_outcome(sent):
    """failure() for a body of 10 bytes, `sent` whole or not, on a heap where loading
    outcome.classify raises MemoryError."""
    real_import = builtins.__import__

    def no_heap(name, *a, **kw):
        if name == "outcome" or name.endswith(".outcome"):
            raise MemoryError
        return real_import(name, *a, **kw)

    saved = sys.modules.pop("pushover.outcome", None)
    builtins.__import__ = no_heap
    try:
        return failure(OSError(104), 10 if sent else 3, 10, [TOKEN], "network error")
    finally:
        builtins.__import__ = real_import
        if saved is not None:
            sys.modules["pushover.outcome"] = saved
