"""The library's checks against the one table of API cases (tests/api_cases.py): whatever the
library accepts, the local server (and so, as far as SPEC.md and Pushover's clients tell,
Pushover) accepts, and each place where the library is stricter or looser on purpose is named.
"""

import base64
import re

import pytest

from api_cases import CASES, LIBRARY_LOOSER, LIBRARY_STRICTER, NOT_EXPRESSIBLE, plain
from localpushover import rules
from pushover import FieldError, Pushover

INT_FIELDS = ("priority", "retry", "expire", "ttl", "timestamp")
IDS = [c[0] for c in CASES]


class NoNetwork:
    def request(self, *args, **kwargs):
        raise AssertionError("form() must not touch the network")


def library_kwargs(wire):
    """The library call that sends `wire`: numbers as int, flags as bool, Base64 as bytes."""
    kw = {}
    for name, value in wire.items():
        if name in INT_FIELDS and re.fullmatch(r"-?[0-9]+", value):
            value = int(value)
        elif name in ("html", "monospace") and value.lower() in ("0", "1", "true", "false"):
            value = value.lower() in ("1", "true")
        elif name == "attachment_base64":
            value = base64.b64decode(value.replace("\n", ""))
        kw[name] = value
    return kw


def library_verdict(wire):
    """(accepted, the field the library names when it refuses)."""
    kw = library_kwargs(wire)
    try:
        po = Pushover(kw.pop("token", None), transport=NoNetwork())
        po.form(kw.pop("message", None), user=kw.pop("user", None), **kw)
    except FieldError as e:
        return False, e.field
    return True, None


def server_bad(wire):
    errs, _, _ = rules.validate_message(rules.drop_empty(wire))
    return set(errs.keys)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_library_accepts_implies_server_accepts(case):
    name, over, bad, why = case
    wire = plain(**over)
    assert server_bad(wire) == set(bad), why  # the table and the server agree
    if name in NOT_EXPRESSIBLE:
        return
    ok, field = library_verdict(wire)
    if ok and bad:
        assert name in LIBRARY_LOOSER, "the library accepts what Pushover refuses: %s" % why
    elif ok:
        assert name not in LIBRARY_LOOSER and name not in LIBRARY_STRICTER
    elif not bad:
        assert name in LIBRARY_STRICTER, (
            "the library refuses %s, which Pushover takes (%s): a bug in the library, or a "
            "deliberate strictness to name in LIBRARY_STRICTER" % (field, why))
    else:
        assert name not in LIBRARY_STRICTER and name not in LIBRARY_LOOSER


def test_every_named_divergence_is_a_case_that_diverges():
    """A stale entry (a case that no longer diverges, or no longer exists) fails here."""
    cases = {c[0]: c for c in CASES}
    for name in list(LIBRARY_STRICTER) + list(LIBRARY_LOOSER) + list(NOT_EXPRESSIBLE):
        assert name in cases, name
    for name in LIBRARY_STRICTER:
        assert cases[name][2] == () and not library_verdict(plain(**cases[name][1]))[0], name
    for name in LIBRARY_LOOSER:
        assert cases[name][2] != () and library_verdict(plain(**cases[name][1]))[0], name


def test_the_two_known_strictnesses_are_named():
    """retry with priority 1 and ttl=0 with priority 2: refused by the library, ignored by
    Pushover and the server."""
    assert "retry-ignored-below-2" in LIBRARY_STRICTER
    assert "emergency-ttl-ignored" in LIBRARY_STRICTER
