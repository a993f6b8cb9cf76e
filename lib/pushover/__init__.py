"""Pushover notifications from MicroPython: every message field, attachments streamed.

    from pushover import Pushover
    po = Pushover(TOKEN, USER)
    po.send("Door open", title="Garage", attachment="/photo.jpg")

Receipts, glances, validation, the queue and retries live in their own modules, imported only
when used, so that `import pushover` stays small.
"""

from .errors import (  # noqa: F401
    FieldError,
    PushoverError,
    QuotaError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
)
from .fields import check, check_int, check_key, check_users
from .form import Form
from .http import Result, UrequestsTransport, out_of_memory, parse_reply  # noqa: F401

API_URL = "https://api.pushover.net/1"
__version__ = "0.1.0"


class Pushover:
    """One application token and a default user (or group) key.

    `api_url` points elsewhere for a local server; `transport` is any object with the
    `request(method, url, form, timeout, secrets)` of http.UrequestsTransport (the default,
    over the firmware's `requests`, found here: a PushoverError if the board has none);
    `bufsize` is the one buffer a body is streamed through. With `encryption_key` (the 64 hex
    characters the Pushover app shows) message, title, url and url_title are sent end-to-end
    encrypted (pushover.e2e); a send that cannot encrypt raises before any I/O.
    """

    def __init__(self, token, user=None, api_url=API_URL, transport=None, bufsize=1024,
                 timeout=15, encryption_key=None):
        self._token = check_key("token", token)
        self._user = None if user is None else check_users(user)
        self._keys = [self._token] + (self._user.split(",") if self._user else [])
        self._e2e = None
        if encryption_key is not None:
            from .e2e import Encryptor

            self._e2e = Encryptor(encryption_key)
        self.api_url = api_url.rstrip("/")
        if transport is None:
            transport = UrequestsTransport()
        self.transport = transport
        # checked here, not at the first send: a queue would keep every message of a setting
        # that can never work (it takes a bufsize error for the heap's, which a later flush
        # may have). At most the largest attachment: no body needs a larger buffer
        self.bufsize = check_int("bufsize", bufsize, 64, 5242880)
        # compat.check_seconds's rule, written out: compat is not loaded by `import pushover`
        if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                or not 0.1 <= timeout <= 3600):  # 0 would make a socket non-blocking
            raise FieldError("timeout", 40)  # texts.py: seconds from 0.1 to 3600
        self.timeout = timeout
        # the one bufsize buffer, made by the first send with an attachment (before it loads
        # the attachment path, while the heap is least cut up) and then lent to one form at a
        # time: a board that sends photos for months asks for no new block of bufsize. Until
        # then a text form has its own, no larger than its body: a sensor that only sends
        # text never holds bufsize bytes
        self._spare = self._lent = None

    def check(self, message, user=None, **fields):
        """Check a message without building its body (a queue's put): (user, pairs,
        attachment), or FieldError."""
        user = self._user if user is None else check_users(user)
        if user is None:
            raise FieldError("user", 19)  # texts.py: is required, give it to Pushover()...
        return (user,) + check(message, fields, self._keys, user)

    def form(self, message, user=None, boundary=None, via=None, **fields):
        """Check a message and build its body, without any network I/O. `via`: the transport
        the body goes through when it is not the Pushover's (pushover.aio's connection); its
        `head_room` says how much room its request head needs in the body's buffer. A heap
        too small to build it is a TemporaryError: nothing was sent."""
        try:
            size = self.bufsize
            if (self._lent is None and isinstance(size, int) and size >= 64
                    and (fields.get("attachment") is not None
                         or fields.get("attachment_base64") is not None)):
                try:
                    self._spare = self._lent = bytearray(size)
                except MemoryError:  # the form asks for its own, and says if it cannot have it
                    pass
            user, pairs, attachment = self.check(message, user, **fields)
            if self._e2e is not None:  # after check(): the limits apply to the plaintext
                pairs = self._e2e.encrypt_pairs(pairs)
            pairs = [("token", self._token), ("user", user)] + pairs
            if attachment is None:
                # a transport that sends no request head through the body's buffer says so
                form = Form(pairs, size, self._spare,
                            getattr(via or self.transport, "head_room", None))
            else:
                from .attach import Multipart

                form = Multipart(pairs, attachment, size, boundary, self._spare)
        except MemoryError:  # e.g. while loading the attachment path
            raise TemporaryError("out of memory: nothing was sent") from None
        # lent once the form holds it: a second form made before this one is sent gets its
        # own, and a form that could not be made took nothing
        self._spare = None
        return form

    def send(self, message, **fields):
        """Send one message; returns a Result or raises a PushoverError (see errors.py)."""
        return self.request("POST", "messages.json", self.form(message, **fields))

    def request(self, method, path, form=None):
        """Send `form` to `api_url/path` and parse the reply (used by the other modules)."""
        status = None
        transport = self.transport
        if getattr(transport, "body_out", None) is not None:
            # this request's from here, before anything can run out of heap: a transport's
            # own reset comes too late on MicroPython, which makes a function's closure cells
            # (UrequestsTransport.request has one) before its first line
            transport.body_out = False
        try:
            try:
                secrets = self.secrets(form)
                status, headers, body = transport.request(
                    method, self.api_url + "/" + path, form, self.timeout, secrets)
            finally:
                # the body has gone out (or failed): lend it again. Only this synchronous path
                # gives it back; pushover.aio does not, as its tasks may hold forms at once
                if getattr(form, "_buf", None) is self._lent:
                    self._spare = self._lent
            return parse_reply(status, headers, body, secrets)
        except MemoryError:
            # where even classifying it ran out (a transport classifies every failure after
            # its first byte) or parsing the reply did: what went out and what came back say
            raise out_of_memory(getattr(transport, "body_out", False), status) from None

    def secrets(self, form=None):
        """The strings that must never reach an error, a log or a repr: the token, the default
        user keys and those a request carries (a user given to send() or validate_user())."""
        keys = self._keys
        if form is not None:
            for name, value in form.pairs:
                if name == "user" and value != self._user:
                    keys = keys + value.split(",")
        return keys
