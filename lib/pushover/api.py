"""API calls other than a message, for receipts, glances and account (loaded by them)."""

from .form import Form


def call(po, method, path, pairs=()):
    """GET `path` with the token in the query, or POST a form of the token plus `pairs`
    ((name, value) already checked; None values are left out); the Result, or a PushoverError."""
    if method == "GET":
        return po.request("GET", path + "?token=" + po._token)
    form = [("token", po._token)]
    for name, value in pairs:
        if value is not None:
            form.append((name, str(value)))
    return po.request(method, path, Form(form, po.bufsize, None,
                                         getattr(po.transport, "head_room", None)))
