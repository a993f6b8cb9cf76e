"""A durable queue on flash: alerts survive resets, power cuts and Wi-Fi outages.

    from pushover.queue import Queue
    q = Queue("/pushover.q")
    q.put("Door open", title="Garage")     # on flash before put() returns
    q.flush(po)                            # sends in order while the network lets it

The file is an append-only log, one record a line: `<crc32> <json>`. The JSON is
`["M", id, message, fields]` (a message accepted), `["D", id]` (sent: done) or
`["X", id, reason]` (set aside: the server refused it). Each record is written with a line
break before and after it, so a record cut short by a power cut (or by a full flash) fails its
checksum and is ignored, and the next record still starts on a line of its own; a corrupted
byte, a line break included, loses only the record it hits. When nothing is pending the log is
emptied, and when it is past 8 KB with more than half of its records spent it is rewritten to
`<path>.tmp` then renamed over the old one. On LittleFS the rename is atomic; on FAT it removes the old log first, so a start that
finds only `<path>.tmp` takes it (it was whole before the rename began).

Attachments are kept by path, never copied: the file must still be there at flush time.
At the bound (`max_messages`), `put()` raises QueueFullError (`on_full="refuse"`, the default)
or sets the oldest pending message aside to make room (`on_full="drop_oldest"`). Of the set-aside
messages only the latest `max_set_aside` are kept once the log is rewritten. Only one message
is in RAM at a time: the log is scanned for where records are, and each is read when needed.
"""

import json
import os

from micropython import const

from .errors import (
    FieldError,
    PushoverError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
)
from .fields import check_int

_COMPACT_BYTES = const(8192)

try:
    from binascii import crc32
except ImportError:  # a port built without crc32
    def crc32(data):
        import hashlib

        return int.from_bytes(hashlib.sha256(data).digest()[:4], "big")


class QueueFullError(PushoverError):
    """The queue holds `max_messages` pending messages; the new one was not added."""

    retry = True


def _no_heap():
    """The error of a flush that ran out of heap reading or marking the log (flush(),
    aio.flush()): nothing is lost, a message sent but not yet marked may be sent again."""
    return TemporaryError("out of memory while flushing: what was not sent stays queued")


def _storable(name, value):
    """Refuse (FieldError) a value the JSON log cannot give back as it was given: MicroPython's
    json.dumps writes a bytes as a str and a set as a dict, and a bytearray or a float that is
    not finite as text that no parser reads (the message would vanish at the next start). No
    field takes a dict, so none is kept either."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _storable(name, item)
    elif not (value is None or isinstance(value, (str, int))
              or (isinstance(value, float) and value - value == 0)):
        raise FieldError(name, "cannot be kept in the queue: a " + type(value).__name__)


def _record(item):
    body = json.dumps(item).encode()
    return ("\n%08x " % (crc32(body) & 0xFFFFFFFF)).encode() + body + b"\n"


def _parse(line):
    """The record in one line, or None if it is incomplete or corrupt."""
    if len(line) < 11 or line[-1:] != b"\n" or line[8:9] != b" ":
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != crc32(body) & 0xFFFFFFFF:
            return None
        item = json.loads(body)
    except (ValueError, UnicodeError):
        return None
    if isinstance(item, list) and item and item[0] in ("M", "D", "X"):
        return item
    return None


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _sync():
    try:
        os.sync()
    except (AttributeError, OSError):
        pass


class Queue:
    def __init__(self, path, max_messages=50, on_full="refuse", max_set_aside=10):
        if on_full not in ("refuse", "drop_oldest"):
            raise FieldError("on_full", "must be 'refuse' or 'drop_oldest'")
        self.path = path
        self.max_messages = check_int("max_messages", max_messages, 1)
        self.on_full = on_full
        self.max_set_aside = check_int("max_set_aside", max_set_aside, 0)
        self._view = None  # (log size, what _read_log() gives for it)
        self._recover()

    def _size(self):
        try:
            return os.stat(self.path)[6]
        except OSError:
            return 0

    def _scan(self):
        """What the log holds: (pending [(id, offset of its record)] oldest first, set aside
        [(id, offset, reason)], next id, number of whole records). Read from the file once,
        then kept up to date by _append() while the file's size is the one it was seen at,
        so that a put() or a flush does not read the whole log again for each message."""
        size = self._size()
        if self._view is not None and self._view[0] == size:
            return self._view[1]
        view = self._read_log()
        self._view = (size, view)
        return view

    def _read_log(self):
        """One pass over the log, keeping only where things are, never the messages (50 long
        messages would not fit a small heap)."""
        pending = {}
        order = []
        aside = []
        next_id = 1
        records = 0
        try:
            f = open(self.path, "rb")
        except OSError:
            return [], [], 1, 0
        with f:
            pos = 0
            while True:
                line = f.readline()
                if not line:
                    break
                start = pos
                pos += len(line)
                item = _parse(line)
                if item is None:
                    continue
                records += 1
                rid = item[1]
                next_id = max(next_id, rid + 1)
                if item[0] == "M":
                    pending[rid] = start
                    order.append(rid)
                elif rid in pending:
                    if item[0] == "X":
                        aside.append((rid, pending[rid], item[2]))
                    del pending[rid]
        ordered = []
        for rid in order:
            if rid in pending:  # pop: an id listed twice (never written so) comes out once
                ordered.append((rid, pending.pop(rid)))
        return ordered, aside, next_id, records

    def _load(self, offset):
        """The message record at `offset`: ["M", id, message, fields] (or None if unreadable)."""
        with open(self.path, "rb") as f:
            f.seek(offset)
            item = _parse(f.readline())
        return item if item is not None and item[0] == "M" else None

    def _recover(self):
        """On start: finish or undo a rewrite that a power cut interrupted, and end a last
        line that a cut left open. (Left open, a record cut just before its final line break
        would be unreadable, its id handed out again, and the next record's leading line
        break would then complete it: two messages with one id.)"""
        tmp = self.path + ".tmp"
        if _exists(tmp):
            if _exists(self.path):
                os.remove(tmp)  # cut before the rename: the old log is whole, the new one not
            else:
                os.rename(tmp, self.path)  # cut inside a FAT rename: the new log is whole
        try:
            size = os.stat(self.path)[6]
        except OSError:
            size = 0
        if size:
            with open(self.path, "rb") as f:
                f.seek(size - 1)
                ended = f.read(1) == b"\n"
            if not ended:
                with open(self.path, "ab") as f:
                    f.write(b"\n")
                _sync()
        self._view = None
        self._next = self._scan()[2]

    def _append(self, item):
        pending, aside, next_id, records = self._scan()
        at = self._size()
        record = _record(item)
        self._view = None  # until the record is whole on flash
        with open(self.path, "ab") as f:
            f.write(record)
            f.flush()
        _sync()
        # the view a scan of the longer log would give: new lists, as a caller may be
        # iterating over the old ones (flush)
        rid = item[1]
        if item[0] == "M":
            pending = pending + [(rid, at + 1)]  # after the record's leading line break
        else:
            for entry in pending:
                if entry[0] == rid:
                    pending = [p for p in pending if p[0] != rid]
                    if item[0] == "X":
                        aside = aside + [(rid, entry[1], item[2])]
                    break
        self._view = (at + len(record), (pending, aside, max(next_id, rid + 1), records + 1))

    def _rewrite(self, pending, aside=()):
        """A new log of the `pending` and `aside` entries of _scan(), in id order: each message
        record copied as it is, one line at a time, then renamed over the old log."""
        entries = [(rid, offset, None) for rid, offset in pending] + list(aside)
        entries.sort(key=lambda entry: entry[0])
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as out:
            if entries:
                with open(self.path, "rb") as log:
                    for rid, offset, reason in entries:
                        log.seek(offset)
                        out.write(b"\n" + log.readline())
                        if reason is not None:
                            out.write(_record(["X", rid, reason]))
            out.flush()
        _sync()
        self._view = None
        os.rename(tmp, self.path)  # atomic on LittleFS: the old log is whole until here
        _sync()

    def pending(self):
        """[(id, message, fields)] not yet sent, oldest first."""
        out = []
        for _, offset in self._scan()[0]:
            item = self._load(offset)
            if item is not None:
                out.append((item[1], item[2], item[3]))
        return out

    def set_aside(self):
        """[(id, reason, message)] the server refused (never resent)."""
        out = []
        for rid, offset, reason in self._scan()[1]:
            item = self._load(offset)
            out.append((rid, reason, item[2] if item else None))
        return out

    def __len__(self):
        return len(self._scan()[0])

    def put(self, message, po=None, **fields):
        """Add a message; it is on flash when this returns. With `po`, the fields are checked
        first (FieldError before anything is written). Returns the message's id."""
        if "attachment" in fields and not isinstance(fields["attachment"], str):
            raise FieldError("attachment", "a queued attachment must be a file path")
        if "attachment_base64" in fields and not isinstance(fields["attachment_base64"], str):
            raise FieldError("attachment_base64", "a queued attachment must be a file path")
        if po is not None:
            # every field checked, without a body buffer or (with a key) sealed fields to
            # throw away
            po.check(message, **fields)
        _storable("message", message)
        for name in fields:
            _storable(name, fields[name])
        pending = self._scan()[0]
        if len(pending) >= self.max_messages:
            if self.on_full == "refuse":
                raise QueueFullError("queue full: " + str(self.max_messages)
                                     + " messages pending; this one was not added")
            self._append(["X", pending[0][0], "dropped: queue full"])
        rid = self._next
        self._next += 1
        self._append(["M", rid, message, fields])
        self._compact(False)
        return rid

    def flush(self, po, on_unknown="resend", limit=None):
        """Send pending messages in order, until one fails temporarily.

        Sent: removed. Refused by the server (RejectedError), or a field of it broke a rule
        (FieldError): set aside with the reason. TemporaryError, QuotaError, TLSError, and a
        FieldError of `bufsize` (no block of it on the heap: the board's, not the message's):
        stop; it and the rest stay, in order.
        UnknownOutcomeError: `on_unknown="resend"` keeps it for the next flush (it may then
        arrive twice); `"drop"` sets it aside. Returns (sent, set_aside, left, last error);
        out of heap while reading or marking the log, raises TemporaryError (nothing lost).
        Only the message being sent is in RAM.
        """
        steps = self.flushing(on_unknown, limit)
        outcome = None
        try:
            while True:
                message, fields = steps.send(outcome)
                try:
                    po.send(message, **fields)
                    outcome = None
                except PushoverError as e:
                    outcome = e
                message = fields = None  # freed before the next message is read
        except StopIteration as done:
            return done.value
        except MemoryError:  # reading or marking the log: what was not marked sent stays
            raise _no_heap() from None

    def flushing(self, on_unknown="resend", limit=None):
        """The rules of flush() without the sending, for any way of sending: a generator that
        yields each pending (message, fields) in order and is sent back what became of it
        (None: sent, else the PushoverError); it returns flush()'s tuple."""
        if on_unknown not in ("resend", "drop"):
            raise FieldError("on_unknown", "must be 'resend' or 'drop'")
        if limit is not None:
            check_int("limit", limit, 0)
        sent = aside = 0
        error = None
        ids = [rid for rid, _ in self._scan()[0]]
        for n, rid in enumerate(ids):
            if limit is not None and n >= limit:
                break
            # where the record is now: a put() between two sends (an asyncio flush) may have
            # rewritten the log, or set this one aside to make room
            offset = None
            for pid, at in self._scan()[0]:
                if pid == rid:
                    offset = at
                    break
            item = None if offset is None else self._load(offset)
            if item is None:  # no longer pending, or unreadable: leave it
                continue
            outcome = yield item[2], item[3]
            item = None  # the message's memory can go before the next one is read
            if outcome is None:
                self._append(["D", rid])
                sent += 1
            elif isinstance(outcome, RejectedError) or (
                    isinstance(outcome, FieldError) and outcome.field != "bufsize"):
                self._append(["X", rid, str(outcome)])
                aside += 1
            elif isinstance(outcome, UnknownOutcomeError):
                error = outcome
                if on_unknown != "drop":
                    break
                self._append(["X", rid, "outcome unknown: " + str(outcome)])
                aside += 1
            else:  # temporary, quota, TLS: the rest waits, in order
                error = outcome
                break
        left = len(self._scan()[0])  # what is still pending, a put() meanwhile included
        self._compact()
        return sent, aside, left, error

    def _compact(self, maybe_empty=True):
        """Rewrite the log when it is past 8 KB and more than half of its records are spent
        (so that many long pending messages do not cause a rewrite at every put), or when
        nothing is pending any more (only a flush can make it so: put() passes
        maybe_empty=False). A rewrite keeps what is pending and the latest `max_set_aside`
        set-aside messages."""
        try:
            size = os.stat(self.path)[6]
        except OSError:
            return
        if size > _COMPACT_BYTES or (size and maybe_empty):  # else: nothing to read
            pending, aside, _, records = self._scan()
            aside = aside[-self.max_set_aside:] if self.max_set_aside else []
            kept = len(pending) + 2 * len(aside)
            if (size > _COMPACT_BYTES and records > 2 * kept) or (
                    not pending and (records != kept or not kept)):
                try:
                    self._rewrite(pending, aside)
                except OSError:  # a full flash: the log stays as it is, whole and larger
                    pass

    def clear_set_aside(self):
        """Forget the messages the server refused."""
        self._rewrite(self._scan()[0])
