"""Every error the library raises, and whether a retry can help.

The two a send can raise before any I/O (PushoverError, the base, and FieldError) are here.
Those that only a failed request raises (RejectedError, QuotaError, TemporaryError,
UnknownOutcomeError, TLSError) are made in failures.py, loaded on the first use of one: they
are reached here and in `pushover` by name all the same, so `import pushover` does not hold
five classes a sensor that never fails never uses.

All derive from PushoverError. It derives from ValueError because MicroPython lets an exception
class have only one built-in base: this is the one way for "every error shares one base" and
"validation errors are ValueErrors" to both hold on the board and on the host.

`retry` says what a caller may do: False (fix the input first), True (resend, not before
`retry_after` seconds), None (the outcome is unknown: resending may deliver the message twice).
What an error carries beyond its text (http_status, errors, fields, request, reset,
retry_after) is set on it where it is made (outcome.py) and otherwise is the class's value.
"""


class PushoverError(ValueError):
    retry = False
    retry_after = None
    http_status = None


class FieldError(PushoverError):
    """A field breaks a rule of the API; raised before any network I/O. `problem` is the text,
    or the number of one in texts.py (filled in with `what`, else `limit`)."""

    def __init__(self, field, problem, limit=None, size=None, what=None):
        if not isinstance(problem, str):
            from .texts import problem_text

            problem = problem_text(problem, limit if what is None else what)
        super().__init__(field + ": " + problem + ("" if size is None else
                                                   " (got " + str(size) + ")"))
        self.field = field
        self.limit = limit
        self.size = size


_FAILURES = ("RejectedError", "QuotaError", "TemporaryError", "UnknownOutcomeError", "TLSError")


def __getattr__(name):
    # pushover.errors.TemporaryError and the rest, loaded with failures.py on first use
    if name in _FAILURES:
        from . import failures

        return getattr(failures, name)
    raise AttributeError(name)
