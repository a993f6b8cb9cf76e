"""Every value of a pool of every type, in every argument of a send, gives a body or a
FieldError that names the argument, on CPython and MicroPython alike (tests/test_any_input.py
draws more values on CPython only; a builtin can fail differently on the board)."""

from fakes import FakeTransport

from pushover import FieldError, Pushover, PushoverError

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
JPEG = b"\xff\xd8\xff\xe0" + bytes(40)
FIELDS = ("title", "url", "url_title", "device", "html", "monospace", "priority", "retry",
          "expire", "callback", "tags", "sound", "timestamp", "ttl", "attachment",
          "attachment_base64", "attachment_type", "attachment_name", "attachment_size",
          "not_a_field")
VALUES = (None, True, False, 0, 1, 2, -3, 30, 10800, 1 << 40, 1 << 70, 0.5, 1e300,
          float("inf"), float("nan"), "", " ", "x", "siren", "image/jpeg", "a,b", "-1",
          "/no/such/file", "\u00e9" * 300, USER, b"", b"x", JPEG, bytearray(JPEG),
          memoryview(JPEG), [], ["phone", "tab"], ("phone", 1), [b"x"], {}, {"a": 1},
          {1, 2}, object(), Pushover)


def streamed(form):
    n = 0
    for chunk in form.chunks():
        n += len(chunk)
    assert n == form.length, (n, form.length)


def outcome(po, message, **fields):
    """None for po.form(message, **fields) that streamed whole, else its FieldError's field."""
    try:
        streamed(po.form(message, **fields))
    except FieldError as e:
        assert e.field and str(e).startswith(e.field + ": "), str(e)
        assert TOKEN not in str(e) and USER not in str(e), str(e)
        return e.field
    return None


def test_any_value_of_any_field():
    po = Pushover(TOKEN, USER, transport=FakeTransport())
    taken = 0
    for field in FIELDS:
        for value in VALUES:
            if outcome(po, "Door open", **{field: value}) is None:
                taken += 1
    assert taken > 40, taken  # some of them are good values


def test_any_message_user_and_pair_of_fields():
    po = Pushover(TOKEN, USER, transport=FakeTransport())
    for value in VALUES:
        assert outcome(po, value) in (None, "message")
        assert outcome(po, "Door open", user=value) in (None, "user")
    for i, value in enumerate(VALUES):  # two fields at once, in a fixed walk over the pool
        fields = {FIELDS[i % len(FIELDS)]: value,
                  FIELDS[(i * 7 + 3) % len(FIELDS)]: VALUES[(i * 5) % len(VALUES)]}
        outcome(po, "Door open", **fields)


def test_any_constructor_argument():
    for value in VALUES:
        for kw in ({"token": value, "user": USER}, {"token": TOKEN, "user": value},
                   {"token": TOKEN, "user": USER, "bufsize": value},
                   {"token": TOKEN, "user": USER, "encryption_key": value}):
            try:
                po = Pushover(transport=FakeTransport(), **kw)
            except PushoverError as e:
                assert isinstance(e, FieldError), repr(e)
                continue
            user = {} if kw["user"] is not None else {"user": USER}
            assert outcome(po, "Door open", attachment=JPEG, **user) is None


def test_a_key_in_any_field_is_not_echoed():
    """A key pasted into the wrong argument: each field given the token or the user key,
    alone and beside the fields that make its rules run (an attachment, priority 2)."""
    po = Pushover(TOKEN, USER, transport=FakeTransport())
    contexts = ({}, {"attachment": JPEG}, {"attachment_base64": JPEG},
                {"priority": 2, "retry": 60, "expire": 3600})
    for field in FIELDS:
        for key in (TOKEN, USER):
            for context in contexts:
                fields = dict(context)
                fields[field] = key
                outcome(po, "Door open", **fields)  # asserts no key in an error's text


SETTINGS = (None, True, 0, 1, 5, 50, 51, -1, 0.5, 30.0, 100000, 1e300, float("inf"), float("nan"),
            "5", b"5", [5], {})


def settled(name, make, **setting):
    """make(**setting) works or raises a FieldError that names `name`; True if it worked."""
    try:
        make(**setting)
    except FieldError as e:
        assert e.field == name, (name, str(e))
        return False
    return True


def test_the_settings_of_the_optional_modules():
    """Each setting of the queue, the storm guard, the glance budget, receipts and retries,
    given every value of a pool: it is taken or refused by name, when the object is made
    (or the call begins), not later as a TypeError, mid-retry, after a failed send."""
    from fakes import Reply, remove, tmpdir

    from pushover.aio import Connection
    from pushover.errors import TemporaryError
    from pushover.glances import GlanceBudget
    from pushover.queue import Queue
    from pushover.receipts import Receipts
    from pushover.retry import send
    from pushover.storm import StormGuard

    path = tmpdir() + "/q_settings"
    down = Pushover(TOKEN, USER, transport=FakeTransport(Reply(503, b"{}")))

    def queue(**setting):
        remove(path)
        Queue(path, **setting).put("m")

    def storm(**setting):
        StormGuard(**setting).allow("k")

    def glances(**setting):
        GlanceBudget(**setting).allow()

    def receipts(**setting):
        Receipts(down, **setting)

    def flushed(**setting):
        remove(path)
        Queue(path).flush(down, **setting)

    def client(**setting):
        # what a timeout that was taken must do: aio's watchdog counts it in whole ms, and
        # a socket is blocking only for more than 0
        made = Pushover(TOKEN, USER, transport=FakeTransport(), **setting)
        assert 0 < int(made.timeout * 1000) <= 3600000, made.timeout

    def connection(**setting):
        conn = Connection(down, **setting)
        timeout = down.timeout if conn.timeout is None else conn.timeout  # None: po's
        assert 0 < int(timeout * 1000) <= 3600000, timeout

    def resent(**setting):
        # every attempt fails (503), so each wait and the deadline are computed; the waits
        # move the clock, so the deadline ends even 100000 attempts
        now = [0]

        def sleep(seconds):
            now[0] += seconds

        try:
            send(down, "m", sleep=sleep, clock=lambda: now[0], **setting)
        except TemporaryError:
            pass

    taken = 0
    for value in SETTINGS:
        for name, make in (("max_messages", queue), ("max_set_aside", queue),
                           ("limit", storm), ("window", storm), ("per_day", glances),
                           ("interval", receipts), ("attempts", resent),
                           ("deadline", resent), ("max_delay", resent), ("timeout", client),
                           ("timeout", connection), ("limit", flushed)):
            taken += settled(name, make, **{name: value})
    assert taken > 20, taken
