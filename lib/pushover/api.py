"""API calls other than a message, for receipts, glances and account (loaded by them)."""

from .errors import TemporaryError
from .form import Form


def call(po, method, path, pairs=()):
    """GET `path` with the token in the query, or POST a form of the token plus `pairs`
    ((name, value) already checked; None values are left out); the Result, or a PushoverError."""
    try:
        if method == "GET":
            path += "?token=" + po._token
            form = None
        else:
            form = [("token", po._token)]
            for name, value in pairs:
                if value is not None:
                    form.append((name, str(value)))
            form = Form(form, po.bufsize, None, getattr(po.transport, "head_room", None))
    except MemoryError:  # as Pushover.form() says it
        raise TemporaryError("out of memory: nothing was sent") from None
    return po.request(method, path, form)
