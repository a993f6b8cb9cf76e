"""Any value for any argument of the public calls gives a result or a PushoverError, never
another exception, and no error text carries the token or the user key: what a sensor's code
passes by mistake (None from a failed reading, a float, bytes, a list) must end in an error that
names the field. Property tests over values of every type, on CPython; the transport answers
every request, so a call that validates its input also runs to its end.

Each argument is drawn half the time from values the API takes and half the time from values
of any type (`mostly`), so that the calls also get past their first check: test_reachable
shows that the strategies do reach sends with several fields and an attachment."""

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from pushover import FieldError, Pushover, PushoverError
from pushover.account import validate_user
from pushover.glances import glance
from pushover.receipts import Receipts

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
KEY = "0123456789abcdef" * 4  # an end-to-end encryption key, as the app shows one
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 20_000), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.binary(max_size=20), st.lists(st.text(max_size=5), max_size=3),
    st.tuples(st.integers()), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    # values that pass some rules and not others
    st.sampled_from(["image/jpeg", "/no/such/file", "-1", "2", "siren", "a,b", "", " ", USER,
                     TOKEN]),
)
# a value each field takes (alone, or with the others it needs)
GOOD = {
    "title": "Garage", "url": "https://example.com/cam", "url_title": "camera",
    "device": ["phone", "tab-2"], "html": 1, "monospace": 1, "priority": 2, "retry": 60,
    "expire": 3600, "callback": "https://example.com/ack", "tags": "door,garage",
    "sound": "siren", "timestamp": 1_700_000_000, "ttl": 60, "attachment": JPEG,
    "attachment_base64": JPEG, "attachment_type": "image/jpeg", "attachment_name": "cam.jpg",
    "attachment_size": len(JPEG), "encrypted": 1, "not_a_field": "x",
}
CHECKED = settings(max_examples=400, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def mostly(good):
    """`good` half the time, else a value of any type. (st.one_of flattens: st.just(x) | ANY
    would be one branch in twelve.)"""
    return st.booleans().flatmap(lambda take: good if take else ANY)


def field_value(name):
    return st.tuples(st.just(name), mostly(st.just(GOOD[name])))


FIELDS = st.lists(st.sampled_from(sorted(GOOD)).flatmap(field_value), max_size=4).map(dict)
MESSAGE = mostly(st.just("Door open"))


class Answers:
    """A transport that streams each body and answers a success."""

    head_room = 0

    def request(self, method, url, form=None, timeout=None, secrets=()):
        if form is not None:
            for _ in form.chunks():
                pass
        return 200, {}, b'{"status":1,"request":"r","receipt":"' + b"r" * 30 + b'"}'


def no_secret(e):
    assert TOKEN not in str(e) and USER not in str(e), str(e)


def po():
    return Pushover(TOKEN, USER, transport=Answers())


def sent(message, user, fields):
    """The Result of one send, or the FieldError it raised (checked: it names its field and
    holds no key)."""
    try:
        return po().send(message, user=user, **fields)
    except FieldError as e:
        assert e.field and str(e).startswith(e.field + ": "), str(e)
        no_secret(e)
        return e


@CHECKED
@given(message=MESSAGE, user=st.one_of(st.none(), mostly(st.just(USER))), fields=FIELDS)
def test_send_gives_a_result_or_a_field_error(message, user, fields):
    result = sent(message, user, fields)
    assert isinstance(result, FieldError) or result.request == "r"


def test_reachable():
    """The strategies above reach sends that succeed with an attachment and two other
    fields, and sends refused for a field other than the message: the properties are not
    only ever checking the first rule."""
    def full_send(args):
        fields = args[1]
        return ("attachment" in fields or "attachment_base64" in fields) and len(fields) >= 3 \
            and not isinstance(sent(args[0], None, fields), FieldError)

    def late_refusal(args):
        result = sent("Door open", None, args[1])
        return isinstance(result, FieldError) and result.field not in ("message", "user")

    strategy = st.tuples(MESSAGE, FIELDS)
    limits = settings(max_examples=5000, database=None)
    assert find(strategy, full_send, settings=limits)
    assert find(strategy, late_refusal, settings=limits)


@CHECKED
@given(token=mostly(st.just(TOKEN)), user=st.one_of(st.none(), mostly(st.just(USER))),
       bufsize=mostly(st.integers(64, 5_242_880)), key=st.one_of(st.none(), mostly(st.just(KEY))))
def test_the_constructor_gives_a_pushover_or_a_field_error(token, user, bufsize, key):
    try:
        made = Pushover(token, user, transport=Answers(), bufsize=bufsize, encryption_key=key)
    except FieldError as e:
        no_secret(e)
        return
    # what it took, it can send with: a setting it cannot use is refused here, not later
    given = {"user": USER} if user is None else {}  # no default user: send() names one
    assert made.send("Door open", attachment=JPEG, **given).request == "r"


@CHECKED
@given(kw=st.dictionaries(st.sampled_from(
    ["title", "text", "subtext", "count", "percent", "user", "device"]),
    mostly(st.sampled_from(["21.5 C", 3, 50, "phone"])), max_size=4))
def test_a_glance_gives_a_result_or_a_pushover_error(kw):
    try:
        glance(po(), **kw)
    except PushoverError as e:
        no_secret(e)


@CHECKED
@given(user=mostly(st.just(USER)), device=st.one_of(st.none(), mostly(st.just("phone"))))
def test_validate_user_gives_a_result_or_a_pushover_error(user, device):
    try:
        validate_user(po(), user=user, device=device)
    except PushoverError as e:
        no_secret(e)


@pytest.mark.parametrize("call", ["status", "cancel", "cancel_by_tag"])
@CHECKED
@given(value=mostly(st.sampled_from(["r" * 30, "door"])))
def test_receipt_calls_give_a_result_or_a_pushover_error(call, value):
    try:
        getattr(Receipts(po()), call)(value)
    except PushoverError as e:
        no_secret(e)
