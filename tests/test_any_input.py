"""Any value for any argument of the public calls gives a result or a PushoverError, never
another exception, and no error text carries the token or the user key: what a sensor's code
passes by mistake (None from a failed reading, a float, bytes, a list) must end in an error that
names the field. Property tests over values of every type, on CPython; the transport answers
every request, so a call that validates its input also runs to its end."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pushover import FieldError, Pushover, PushoverError
from pushover.account import validate_user
from pushover.glances import glance
from pushover.receipts import Receipts

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
FIELDS = ["title", "url", "url_title", "device", "html", "monospace", "priority", "retry",
          "expire", "callback", "tags", "sound", "timestamp", "ttl", "attachment",
          "attachment_base64", "attachment_type", "attachment_name", "attachment_size",
          "encrypted", "not_a_field"]
ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 20_000), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.binary(max_size=20), st.lists(st.text(max_size=5), max_size=3),
    st.tuples(st.integers()), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    # values that pass some rules and not others
    st.sampled_from(["image/jpeg", "/no/such/file", "-1", "2", "siren", "a,b", "", " ", USER]),
)
CHECKED = settings(max_examples=400, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


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


@CHECKED
@given(message=st.one_of(st.just("Door open"), ANY), user=st.one_of(st.none(), ANY),
       fields=st.dictionaries(st.sampled_from(FIELDS), ANY, max_size=4),
       bufsize=st.one_of(st.just(1024), ANY))
def test_send_gives_a_result_or_a_field_error(message, user, fields, bufsize):
    try:
        result = Pushover(TOKEN, USER, transport=Answers(), bufsize=bufsize).send(
            message, user=user, **fields)
    except FieldError as e:
        assert e.field and str(e).startswith(e.field + ": "), str(e)
        no_secret(e)
        return
    assert result.request == "r"


@CHECKED
@given(token=st.one_of(st.just(TOKEN), ANY), user=st.one_of(st.just(USER), ANY), bufsize=ANY,
       key=st.one_of(st.none(), ANY))
def test_the_constructor_gives_a_pushover_or_a_field_error(token, user, bufsize, key):
    try:
        made = Pushover(token, user, transport=Answers(), bufsize=bufsize, encryption_key=key)
    except FieldError as e:
        no_secret(e)
        return
    # what it took, it can send with: a setting it cannot use is refused here, not later
    given = {"user": USER} if user is None else {}  # no default user: send() names one
    assert made.send("Door open", attachment=b"\xff\xd8\xff", **given).request == "r"


@CHECKED
@given(kw=st.dictionaries(st.sampled_from(
    ["title", "text", "subtext", "count", "percent", "user", "device"]), ANY, max_size=4))
def test_a_glance_gives_a_result_or_a_pushover_error(kw):
    try:
        glance(po(), **kw)
    except PushoverError as e:
        no_secret(e)


@CHECKED
@given(user=ANY, device=ANY)
def test_validate_user_gives_a_result_or_a_pushover_error(user, device):
    try:
        validate_user(po(), user=user, device=device)
    except PushoverError as e:
        no_secret(e)


@pytest.mark.parametrize("call", ["status", "cancel", "cancel_by_tag"])
@CHECKED
@given(value=ANY)
def test_receipt_calls_give_a_result_or_a_pushover_error(call, value):
    try:
        getattr(Receipts(po()), call)(value)
    except PushoverError as e:
        no_secret(e)
