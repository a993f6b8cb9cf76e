"""Receipts, glances and account calls through a fake transport, on CPython and MicroPython."""

from fakes import FakeTransport, Reply

from pushover import FieldError, Pushover, RejectedError
from pushover import glances as glances_module
from pushover.account import limits, sounds, validate_user
from pushover.glances import GlanceBudget, glance
from pushover.receipts import Receipts

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
RECEIPT = "rcpt0123456789abcdefghijKLMNOP"


class Clock:
    """The clock a Receipts is handed (ticks=, sleep=): time only moves when slept."""

    def __init__(self):
        self.now = 0
        self.slept = []

    def ticks_ms(self):
        return self.now

    def sleep_ms(self, ms):
        self.slept.append(ms)
        self.now += ms


def fake_clock():
    return Clock()


def receipts(po, clock, **kw):
    return Receipts(po, ticks=clock.ticks_ms, sleep=clock.sleep_ms, **kw)


def body_text(call):
    return call["body"].decode()


def test_receipt_poll_fields_and_spacing():
    clock = fake_clock()
    fake = FakeTransport(Reply(200, b'{"status":1,"request":"q","acknowledged":0,"expired":0,'
                                    b'"expires_at":1800000000,"last_delivered_at":1799999000}'),
                         keep=True)
    r = receipts(Pushover(TOKEN, USER, api_url="http://h/1", transport=fake), clock)
    first = r.status(RECEIPT)
    assert not first.acknowledged and not first.done and first.expires_at == 1800000000
    assert fake.calls[0]["method"] == "GET"
    assert fake.calls[0]["url"] == "http://h/1/receipts/" + RECEIPT + ".json?token=" + TOKEN
    r.status(RECEIPT)
    assert clock.slept == [5000], "a second poll right away must wait 5 s"
    clock.now += 60000
    r.status(RECEIPT)
    assert clock.slept == [5000], "no wait after 5 s passed"


def test_wait_until_acknowledged_without_busy_loop():
    clock = fake_clock()
    replies = [b'{"status":1,"acknowledged":0}'] * 3 + [
        b'{"status":1,"acknowledged":1,"acknowledged_by":"' + USER.encode()
        + b'","acknowledged_by_device":"phone","acknowledged_at":1800000100}']

    class Seq(FakeTransport):
        def request(self, *a, **kw):
            self.reply = Reply(200, replies.pop(0))
            return FakeTransport.request(self, *a, **kw)

    r = receipts(Pushover(TOKEN, USER, transport=Seq()), clock)
    status = r.wait(RECEIPT, timeout=600)
    assert status.acknowledged and status.acknowledged_by_device == "phone"
    assert clock.slept == [5000, 5000, 5000]


def test_wait_gives_up_at_the_deadline():
    clock = fake_clock()
    fake = FakeTransport(Reply(200, b'{"status":1,"acknowledged":0}'))
    status = receipts(Pushover(TOKEN, USER, transport=fake), clock).wait(RECEIPT, timeout=30)
    assert not status.done and clock.now <= 30000 and len(fake.calls) == 7  # t=0,5,..,30


def test_cancel_and_cancel_by_tag():
    fake = FakeTransport(Reply(200, b'{"status":1,"canceled":2}'), keep=True)
    r = receipts(Pushover(TOKEN, USER, api_url="http://h/1", transport=fake), fake_clock())
    r.cancel(RECEIPT)
    assert fake.calls[0]["url"] == "http://h/1/receipts/" + RECEIPT + "/cancel.json"
    assert body_text(fake.calls[0]) == "token=" + TOKEN
    assert r.cancel_by_tag("door/garage \u00e9") == 2
    assert fake.calls[1]["url"] == "http://h/1/receipts/cancel_by_tag/door%2Fgarage%20%C3%A9.json"
    for bad in ("short", RECEIPT + "x", "rcpt0123456789abcdefghijKLMN/."):
        try:
            r.cancel(bad)
            raise AssertionError("bad receipt accepted")
        except FieldError as e:
            assert e.field == "receipt"
    try:
        r.cancel_by_tag("")
        raise AssertionError("empty tag accepted")
    except FieldError as e:
        assert e.field == "tag"


def test_glance_fields_and_limits():
    fake = FakeTransport(keep=True)
    po = Pushover(TOKEN, USER, api_url="http://h/1", transport=fake)
    glance(po, title="Cellar", count=-3, percent=100, device="watch")
    assert fake.calls[0]["url"] == "http://h/1/glances.json"
    assert body_text(fake.calls[0]) == ("token=" + TOKEN + "&user=" + USER + "&device=watch"
                                        "&title=Cellar&count=-3&percent=100")
    for kwargs, field in (({}, "glance"), ({"title": "x" * 101}, "title"),
                          ({"subtext": "y" * 101}, "subtext"), ({"percent": 101}, "percent"),
                          ({"percent": -1}, "percent"), ({"count": "3"}, "count")):
        try:
            glance(po, **kwargs)
            raise AssertionError("accepted " + repr(kwargs))
        except FieldError as e:
            assert e.field == field, (e.field, field)
    assert len(fake.calls) == 1
    glance(po, text="t" * 100)


def test_glance_budget_survives_a_restart():
    from fakes import remove, tmpdir

    path = tmpdir() + "/glance.state"
    remove(path)
    now = [1800000000]
    budget = GlanceBudget(path, per_day=48, clock=lambda: now[0])
    assert budget.allow() and not budget.allow()
    now[0] += 1799
    assert not GlanceBudget(path, per_day=48, clock=lambda: now[0]).allow()
    now[0] += 1
    assert GlanceBudget(path, per_day=48, clock=lambda: now[0]).allow()
    assert glances_module.GlanceBudget is GlanceBudget


def test_account_calls():
    fake = FakeTransport(Reply(200, b'{"status":1,"devices":["phone"],"licenses":["iOS"],'
                                    b'"group":0}'), keep=True)
    po = Pushover(TOKEN, USER, api_url="http://h/1", transport=fake)
    assert validate_user(po, device="phone").data["devices"] == ["phone"]
    assert body_text(fake.calls[0]) == "token=" + TOKEN + "&user=" + USER + "&device=phone"
    fake.reply = Reply(400, b'{"status":0,"device":"invalid","errors":["device name is not '
                            b'valid for user"]}')
    try:
        validate_user(po, device="nope")
        raise AssertionError("no error")
    except RejectedError as e:
        assert e.fields == {"device": "invalid"}
    fake.reply = Reply(200, b'{"status":1,"sounds":{"siren":"Siren","bike":"Bike"}}')
    assert sounds(po) == {"siren": "Siren", "bike": "Bike"}
    fake.reply = Reply(200, b'{"status":1,"limit":10000,"remaining":7500,"reset":1800000000}')
    assert limits(po) == (10000, 7500, 1800000000)
    assert fake.calls[-1]["url"] == "http://h/1/apps/limits.json?token=" + TOKEN
