"""The durable queue under power cuts and corruption, on CPython and MicroPython alike: a cut
at any byte of any write leaves every message accepted before that write readable and the
queue usable; corrupted bytes lose only the record they hit."""

from fakes import ScriptedPo, read_bytes, remove, tmpdir, write_bytes

from pushover.errors import (
    FieldError,
    RejectedError,
    TemporaryError,
    TLSError,
    UnknownOutcomeError,
)
from pushover.queue import Queue, QueueFullError

MESSAGES = ["first", "second \u00e9\n2", "third & \"q\"", "fourth"]


def fresh(name):
    path = tmpdir() + "/" + name
    remove(path)
    remove(path + ".tmp")
    return path


def test_order_and_removal():
    path = fresh("q_order")
    q = Queue(path)
    for m in MESSAGES:
        q.put(m, title="t")
    po = ScriptedPo()
    assert q.flush(po)[:3] == (4, 0, 0)
    assert po.sent == MESSAGES
    assert len(Queue(path)) == 0
    assert read_bytes(path) == b"", "an empty queue leaves an empty log"


def test_temporary_failure_keeps_the_rest_in_order():
    path = fresh("q_temp")
    q = Queue(path)
    for m in MESSAGES:
        q.put(m)
    po = ScriptedPo([None, TemporaryError("down")])
    sent, aside, left, error = q.flush(po)
    assert (sent, aside, left) == (1, 0, 3) and isinstance(error, TemporaryError)
    assert [m for _, m, _ in Queue(path).pending()] == MESSAGES[1:]
    po = ScriptedPo()
    Queue(path).flush(po)
    assert po.sent == MESSAGES[1:]


def test_tls_failure_stops_the_flush_and_keeps_everything():
    path = fresh("q_tls")
    q = Queue(path)
    for m in MESSAGES:
        q.put(m)
    sent, aside, left, error = q.flush(ScriptedPo([TLSError("certificate not trusted")]))
    assert (sent, aside, left) == (0, 0, 4) and isinstance(error, TLSError)
    assert [m for _, m, _ in Queue(path).pending()] == MESSAGES


def test_no_heap_for_the_body_buffer_keeps_the_message():
    """A bufsize the heap cannot give (FieldError of bufsize) is the board's, not the
    message's: the flush stops and keeps it, where a field of the message is set aside."""
    path = fresh("q_bufsize")
    q = Queue(path)
    for m in MESSAGES[:3]:
        q.put(m)
    po = ScriptedPo([FieldError("bufsize", "no free block of 4096 bytes")])
    sent, aside, left, error = q.flush(po)
    assert (sent, aside, left) == (0, 0, 3) and error.field == "bufsize"
    po = ScriptedPo([FieldError("title", "at most 250 characters")])
    assert q.flush(po)[:3] == (2, 1, 0)


def test_no_heap_to_read_the_log_is_a_temporary_error_and_loses_nothing():
    path = fresh("q_noheap")
    q = Queue(path)
    for m in MESSAGES[:3]:
        q.put(m)
    real = q._load
    reads = []

    def load(offset):
        reads.append(offset)
        if len(reads) == 2:
            raise MemoryError("memory allocation failed")
        return real(offset)

    q._load = load
    po = ScriptedPo()
    try:
        q.flush(po)
        raised = None
    except TemporaryError as e:
        raised = e
    assert raised is not None and "stays queued" in str(raised)
    assert po.sent == MESSAGES[:1]
    assert [m for _, m, _ in Queue(path).pending()] == MESSAGES[1:3]


def test_rejected_is_set_aside_with_reason():
    path = fresh("q_rej")
    q = Queue(path)
    for m in MESSAGES[:3]:
        q.put(m)
    po = ScriptedPo([None, RejectedError("rejected (HTTP 400): user identifier is invalid")])
    assert q.flush(po)[:3] == (2, 1, 0)
    aside = Queue(path).set_aside()
    assert len(aside) == 1 and aside[0][2] == MESSAGES[1] and "user identifier" in aside[0][1]
    assert Queue(path).pending() == []


def test_unknown_outcome_policy():
    path = fresh("q_unk")
    q = Queue(path)
    q.put("maybe")
    assert q.flush(ScriptedPo([UnknownOutcomeError("?")]))[:3] == (0, 0, 1)
    assert q.flush(ScriptedPo([UnknownOutcomeError("?")]), on_unknown="drop")[:3] == (0, 1, 0)


def test_bound():
    path = fresh("q_full")
    q = Queue(path, max_messages=2)
    q.put("a")
    q.put("b")
    try:
        q.put("c")
        raise AssertionError("no QueueFullError")
    except QueueFullError:
        pass
    assert [m for _, m, _ in q.pending()] == ["a", "b"]
    q = Queue(path, max_messages=2, on_full="drop_oldest")
    q.put("c")
    assert [m for _, m, _ in q.pending()] == ["b", "c"]
    assert q.set_aside()[0][1] == "dropped: queue full"


def test_attachments_are_paths_only():
    q = Queue(fresh("q_att"))
    try:
        q.put("x", attachment=b"\xff\xd8\xff")
        raise AssertionError("bytes attachment accepted")
    except ValueError:
        pass
    q.put("x", attachment="/photo.jpg")
    assert q.pending()[0][2] == {"attachment": "/photo.jpg"}


def test_power_cut_at_every_byte_of_every_write():
    path = fresh("q_cut")
    accepted = []
    po = ScriptedPo()
    checked = 0
    steps = [("put", m) for m in MESSAGES] + [("flush", 2), ("put", "fifth"), ("flush", 9)]
    for op, arg in steps:
        before = read_bytes(path)
        expected_before = list(accepted)
        if op == "put":
            Queue(path).put(arg)
            accepted.append(arg)
        else:
            po.sent = []
            Queue(path).flush(po, limit=arg)
            del accepted[: len(po.sent)]
        after = read_bytes(path)
        if not after.startswith(before):
            continue  # a rewrite (compaction): covered by the next test
        for cut in range(len(before), len(after)):
            write_bytes(path, after[:cut])
            survivors = [m for _, m, _ in Queue(path).pending()]
            # everything accepted before the write is there; the message being written may be
            # there only if its record is whole; a message being removed may still be there
            assert all(m in survivors for m in expected_before if m in accepted), (op, cut)
            assert all(m in expected_before or m == arg for m in survivors), (op, cut)
            checked += 1
        write_bytes(path, after)
    assert checked > 200
    # still usable after all of that
    Queue(path).put("after")
    assert [m for _, m, _ in Queue(path).pending()][-1] == "after"


def test_power_cut_during_compaction():
    path = fresh("q_compact")
    q = Queue(path)
    for m in MESSAGES:
        q.put(m)
    q.flush(ScriptedPo(), limit=1)
    old = read_bytes(path)
    pending = [m for _, m, _ in Queue(path).pending()]
    # the rewrite goes to path.tmp first: a cut anywhere there leaves the old log whole
    for cut in range(0, len(old), 7):
        write_bytes(path + ".tmp", old[:cut])
        assert [m for _, m, _ in Queue(path).pending()] == pending
    q.clear_set_aside()  # a real rewrite, then rename
    assert [m for _, m, _ in Queue(path).pending()] == pending


def test_corrupted_bytes_lose_only_their_record():
    """Every byte of the log flipped in turn, line breaks included: at most the one message
    whose record the byte is in goes missing, the others stay in order."""
    path = fresh("q_rot")
    q = Queue(path)
    for m in MESSAGES:
        q.put(m)
    good = read_bytes(path)
    lost = 0
    for offset in range(len(good)):
        data = bytearray(good)
        data[offset] ^= 0x55
        write_bytes(path, bytes(data))
        survivors = [m for _, m, _ in Queue(path).pending()]
        missing = [m for m in MESSAGES if m not in survivors]
        assert len(missing) <= 1 and survivors == [m for m in MESSAGES if m not in missing], (
            offset, survivors)
        lost += len(missing)
    assert lost > len(good) // 2  # most bytes are inside a record, which they break


def test_a_record_cut_short_does_not_swallow_the_next_one():
    """A write that stopped mid-record (power cut, full flash) is followed by a whole record:
    the new message is kept, not glued to the broken line."""
    path = fresh("q_glue")
    q = Queue(path)
    q.put("one")
    q.put("two")
    whole = read_bytes(path)
    write_bytes(path, whole[: len(whole) - 6])  # "two" cut short
    q = Queue(path)
    q.put("three")
    assert [m for _, m, _ in Queue(path).pending()] == ["one", "three"]


def test_set_aside_survive_a_restart_and_are_bounded():
    path = fresh("q_aside")
    q = Queue(path, max_messages=2, on_full="drop_oldest", max_set_aside=3)
    pad = " " + "x" * 200
    for n in range(40):  # about 9.6 KB of records: one rewrite on the way
        q.put("message %d" % n + pad)
    assert [m for _, m, _ in Queue(path).pending()] == ["message 38" + pad, "message 39" + pad]
    aside = Queue(path).set_aside()
    assert len(aside) < 40 - 2  # the rewrite past 8 KB kept only the latest 3
    assert len(read_bytes(path)) < 8 * 1024 + 600, "the log grows without bound"
    assert aside[-1][2] == "message 37" + pad and aside[-1][1] == "dropped: queue full"
    q = Queue(path, max_messages=2, on_full="drop_oldest", max_set_aside=3)
    q.flush(ScriptedPo())
    assert Queue(path).pending() == []
    assert [m for _, _, m in Queue(path).set_aside()][-1] == "message 37" + pad
    assert len(Queue(path).set_aside()) == 3  # the flush emptied the log: latest 3 kept


def test_a_rewrite_cut_inside_a_fat_rename_is_finished_on_start():
    """FAT's rename removes the old log before renaming: a cut in between leaves only the
    whole new log at <path>.tmp, which the next start takes."""
    path = fresh("q_fat")
    q = Queue(path)
    for m in MESSAGES:
        q.put(m)
    whole = read_bytes(path)
    remove(path)
    write_bytes(path + ".tmp", whole)
    assert [m for _, m, _ in Queue(path).pending()] == MESSAGES
    assert read_bytes(path + ".tmp") == b""  # taken, not left behind


def test_a_record_cut_before_its_last_line_break_keeps_its_id():
    """A cut that drops only the final line break of a record: on the next start the line
    is ended, so the record counts and its id is not handed out again (else the next record's
    leading line break would complete it: two messages with one id, one lost, one twice)."""
    path = fresh("q_eol")
    q = Queue(path)
    q.put("one")
    q.put("two")
    whole = read_bytes(path)
    write_bytes(path, whole[:-1])  # only the last "\n" is missing
    q = Queue(path)
    q.put("three")
    assert [m for _, m, _ in Queue(path).pending()] == ["one", "two", "three"]
    po = ScriptedPo()
    Queue(path).flush(po)
    assert po.sent == ["one", "two", "three"]


def test_put_returns_once_saved_even_if_the_rewrite_fails():
    """The rewrite after put() may fail (a full flash); the message is saved by then, so put()
    returns its id instead of raising (a caller who retried would queue it twice)."""
    path = fresh("q_enospc")
    q = Queue(path, max_messages=2, on_full="drop_oldest")

    def no_room(*args):
        raise OSError(28)  # ENOSPC

    q._rewrite = no_room
    for n in range(60):  # far past 8 KB of mostly spent records: a rewrite is due
        q.put("message %d " % n + "z" * 200)
    assert [m[:11] for _, m, _ in Queue(path).pending()] == ["message 58 ", "message 59 "]


def test_the_kept_view_is_what_a_fresh_read_of_the_log_gives():
    """put() and flush() do not read the whole log again for each message: they keep its
    view up to date as they write. That view must be what reading the file gives."""
    path = tmpdir() + "/view.q"
    remove(path)
    q = Queue(path, max_messages=5, on_full="drop_oldest", max_set_aside=3)
    po = ScriptedPo([None, RejectedError("bad"), None, TemporaryError("down")])
    for n in range(7):
        q.put("m%d" % n)
        assert q._scan() == q._read_log(), n
    q.flush(po)
    assert q._scan() == q._read_log()
    q.put("after")
    assert q._scan() == q._read_log()
    assert [m for _, m, _ in Queue(path).pending()] == [m for _, m, _ in q.pending()]


def test_a_put_that_rewrites_the_log_mid_flush_loses_nothing():
    """An asyncio flush lets other tasks run between two sends; a put() there may rewrite
    the log (past 8 KB, most records spent), which moves every record. The flush must go on
    from where the records are now: each message sent once, none marked sent unsent."""
    path = tmpdir() + "/midflush.q"
    remove(path)
    q = Queue(path, max_messages=60)
    for i in range(30):
        q.put("m%02d " % i + "x" * 300)
    steps = q.flushing()
    sent = []
    outcome = None
    try:
        while True:
            message, fields = steps.send(outcome)
            sent.append(message[:3])
            if len(sent) == 13:
                size = len(read_bytes(path))
                q.put("new")
                assert len(read_bytes(path)) < size, "the put did not rewrite the log"
            outcome = None
    except StopIteration as done:
        result = done.value
    assert sent == ["m%02d" % i for i in range(30)]
    assert result == (30, 0, 1, None)
    assert [m for _, m, _ in q.pending()] == ["new"]


def test_a_value_the_log_cannot_hold_is_refused_before_anything_is_written():
    """Without a Pushover to check them, put() still refuses what its JSON log cannot give
    back: MicroPython's json.dumps writes a bytes as a str and a set as a dict, and a
    bytearray or float("nan") as text that no parser reads, so the message would vanish at
    the next start. The field is named, nothing is written, the queue goes on."""
    path = fresh("q_storable")
    q = Queue(path)
    q.put("kept", title="t")
    before = read_bytes(path)
    bad = [("message", (b"bytes",), {}), ("title", ("x",), {"title": b"x"}),
           ("device", ("x",), {"device": ["phone", bytearray(b"tab")]}),
           ("priority", ("x",), {"priority": float("nan")}),
           ("timestamp", ("x",), {"timestamp": float("inf")}),
           ("tags", ("x",), {"tags": {"a", "b"}}), ("sound", ("x",), {"sound": {"k": 1}})]
    for field, args, fields in bad:
        try:
            q.put(*args, **fields)
        except FieldError as e:
            assert e.field == field and "queue" in str(e), str(e)
        else:
            raise AssertionError("stored " + field)
    assert read_bytes(path) == before
    q.put("also kept", priority=1, timestamp=1700000000.5, device=("phone", "tab"), url=None)
    assert [m for _, m, _ in Queue(path).pending()] == ["kept", "also kept"]


def test_what_put_takes_comes_back_after_a_restart_as_it_was_given():
    """Every value of a pool of every type, in a message and in a field, without a Pushover
    to check it: put() refuses it (FieldError, naming it) or keeps it, and a queue opened
    again on the same log gives it back equal (a tuple as a list: the log is JSON)."""
    path = fresh("q_roundtrip")
    values = (None, True, False, 0, -3, 1 << 40, 1 << 70, 0.5, 1700000000.5, 1e300, -2.5e-7,
              float("inf"), float("nan"), "", "x", "\u00e9\u20ac\U0001f600", "a\nb\"c\\",
              b"", b"x", bytearray(b"x"), memoryview(b"x"), [], ["phone", "tab"], ("a", 1),
              [b"x"], [[1]], {}, {"a": 1}, {1, 2}, object())
    q = Queue(path, max_messages=200)
    kept = []
    for value in values:
        for as_message in (True, False):
            try:
                if as_message:
                    q.put(value)
                else:
                    q.put("m", title=value)
            except FieldError as e:
                assert e.field == ("message" if as_message else "title"), str(e)
                continue
            kept.append((value, {}) if as_message else ("m", {"title": value}))

    def plain(v):
        return [plain(x) for x in v] if isinstance(v, (list, tuple)) else v

    back = [(m, f) for _, m, f in Queue(path, max_messages=200).pending()]
    assert len(back) == len(kept) > 20, (len(back), len(kept))
    for i in range(len(kept)):  # (zip(strict=) is not MicroPython's)
        message, fields = kept[i]
        assert (plain(message), {k: plain(v) for k, v in fields.items()}) == back[i], (
            message, fields, back[i])
