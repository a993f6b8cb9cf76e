"""HTTP through the firmware's `requests` (alias `urequests`), and replies turned into a Result;
what a failure means is decided in outcome.py (classify), loaded only when something fails
(failure(), which every transport calls).

The transport hands `requests` a generator plus an exact-case "Content-Length" header, which
every generation of it streams as-is (no chunked encoding). It reads at most `reply_cap` bytes
of a reply, closes the response on every path and never follows a redirect: a Location header
ends the request, because a redirect would resend (or drop) a body that was already streamed.
"""

import json

from micropython import const

from .errors import PushoverError, TemporaryError, UnknownOutcomeError

REPLY_CAP = const(4096)
_EIO = const(5)
# the errno of the OSError the header callback raises on a Location header: an OSError, so
# that requests closes its socket and stops; no system uses this number (outcome.classify)
REDIRECT = const(30301)
_WANTED = ("content-length", "transfer-encoding", "x-limit-app-limit", "x-limit-app-remaining",
           "x-limit-app-reset")
# the lengths of those names and of "location", written out: a set built at import would be
# heap on every board (a test checks they agree)
_NAME_LENGTHS = (8, 14, 17, 21)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Result:
    """A successful reply: `request` id, `receipt` (priority 2), quota figures, all JSON `data`."""

    def __init__(self, http_status, data, headers):
        self.http_status = http_status
        self.data = data
        self.request = data.get("request")
        self.receipt = data.get("receipt")
        self.limit = _int_or_none(headers.get("x-limit-app-limit"))
        self.remaining = _int_or_none(headers.get("x-limit-app-remaining"))
        self.reset = _int_or_none(headers.get("x-limit-app-reset"))


def failure(e, sent, length, secrets, what):
    """The PushoverError for exception `e`, raised while `sent` of the `length` body bytes had
    gone out: outcome.classify, loaded now. Where the heap cannot even load or run it, what is
    known without it: only a body that went out whole may have been delivered."""
    try:
        from .outcome import classify

        return classify(e, sent, length, secrets, what)
    except MemoryError:  # what is left of the heap is little: free what can be, ask for less
        import gc

        gc.collect()
        return out_of_memory(length and sent >= length)


def out_of_memory(sent, status=None):
    """The error of a request that ran out of heap once past its form (in a transport, or
    after it: reading the reply): only one that went out whole (`sent`) and saw no reply but a
    2xx may have been delivered. A reply that is not a 2xx will say again what it said."""
    if sent and (status is None or status < 300):
        return UnknownOutcomeError("out of memory once sent")
    return TemporaryError("out of memory: not all sent")


def _read_upto(raw, want):
    """Up to `want` bytes from `raw`, fewer only at its end (a de-chunked stream of requests
    1.1 returns at most one chunk per read)."""
    body = b""
    while len(body) < want:
        data = raw.read(want - len(body))
        if not data:
            break
        body += data
    return body


def read_body(raw, headers, cap=REPLY_CAP, dechunk=None):
    """At most `cap` bytes of the reply body; raises ValueError when the reply is larger.

    Decodes a chunked reply when `dechunk` (default: the headers say chunked; chunked.py) and
    reads a Content-Length or read-until-close reply with read(n) only: requests 1.1 hands
    over an already de-chunked stream that has nothing but read(n), readinto() and close().
    """
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    if chunked if dechunk is None else dechunk:
        from .chunked import dechunk as read_chunks

        return read_chunks(raw, cap)
    length = None if chunked else _int_or_none(headers.get("content-length"))
    body = _read_upto(raw, cap + 1 if length is None else min(length, cap + 1))
    if len(body) > cap:
        raise ValueError("reply larger than " + str(cap) + " bytes")
    return body


class UrequestsTransport:
    """Sends through the firmware's `requests` (or an object with the same `request()`),
    found when the transport is made: `requests` first, then `urequests`."""

    head_room = 0  # requests writes the request head itself: a form's buffer needs no room

    def __init__(self, module=None, reply_cap=REPLY_CAP, collect=None):
        if module is None:  # `requests`, its name in micropython-lib and on the unix port
            try:
                import requests as module
            except ImportError:
                try:
                    import urequests as module  # the alias older firmware has
                except ImportError:
                    from .texts import problem_text

                    raise PushoverError(problem_text(39, None)) from None  # no requests
        self.module = module
        self.reply_cap = reply_cap
        if collect is None:
            import gc

            collect = gc.collect
        self.collect = collect
        # whether the whole body of the latest request went out, for a MemoryError that got
        # past the transport (Pushover.request); made here, so setting it allocates nothing
        self.body_out = False

    def _body(self, chunks, state):
        """The body handed to requests: the form's chunks, counting in state[0] the bytes that
        went out. A bad source (a FieldError) becomes an OSError, the one exception on which
        requests closes its socket; state[1] keeps the real one."""
        try:
            for chunk in chunks:
                yield chunk
                state[0] += len(chunk)
        except PushoverError as e:
            state[1] = e
            raise OSError(_EIO) from None
        self.body_out = True  # requests asked for more after the last chunk: all written

    def request(self, method, url, form=None, timeout=None, secrets=()):
        """-> (HTTP status, {lower-case header: value}, body bytes), or a PushoverError.

        `secrets` are scrubbed from any text that reaches an error.
        """
        self.body_out = False  # for a direct caller; Pushover.request resets it before the call
        got = {}

        def on_header(line, _unused):
            # most reply headers (Date, Server, security headers...) are skipped on the length
            # of their name alone, before anything is allocated for them
            if line.find(b":") not in _NAME_LENGTHS:
                return
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"location":
                raise OSError(REDIRECT)
            name = name.decode()
            if name in _WANTED:
                got[name] = value.strip().decode()

        headers = {}
        chunks = data = None
        state = [0, None]  # body bytes sent, the form's own error
        if form is not None:
            headers["Content-Type"] = form.content_type
            headers["Content-Length"] = str(form.length)
            chunks = form.chunks()
            data = self._body(chunks, state)
        resp = caught = None
        try:
            # the ESP32 stubs type parse_headers as a bool; every generation of requests also
            # calls a callable with each header line, and that is what is used here
            resp = self.module.request(method, url, data=data, headers=headers,
                                       timeout=timeout,
                                       parse_headers=on_header)  # pyright: ignore[reportArgumentType]
            status = resp.status_code
            raw = resp.raw
            try:
                # requests 1.1 de-chunks and hands over a stream without readline(); older
                # ones pass a chunked body through the socket when the header's case differs
                reply = read_body(raw, got, self.reply_cap,
                                  "chunked" in got.get("transfer-encoding", "").lower()
                                  and hasattr(raw, "readline"))
            except Exception as e:  # a broken reply: after a 2xx, the outcome is unknown
                if 200 <= status < 300:
                    from .outcome import unreadable

                    raise unreadable(e, secrets) from None
                reply = b""
            return status, got, reply
        except Exception as e:
            caught = e
        finally:
            if resp is not None:
                resp.close()
            if data is not None:
                data.close()  # pyright: ignore[reportAttributeAccessIssue] (a generator)
                chunks.close()  # pyright: ignore[reportOptionalMemberAccess] (set with data)
        # what failed is classified once the response and the body are closed
        if resp is None and not isinstance(caught, OSError):
            # requests closes its socket only on an OSError: after a ValueError (a chunked
            # reply before requests 1.1, a garbled status line) the socket is unreachable but
            # open until a collection runs its finaliser; a board has few sockets
            self.collect()
        raise failure(state[1] or caught, state[0], 0 if form is None else form.length,
                      secrets, "network error") from None


def parse_reply(status, headers, body, secrets=()):
    """A Result for a success, else raise the error that says whether a retry can help."""
    try:
        data = json.loads(body.decode() if body else "null")
    except (ValueError, UnicodeError):
        data = None
    if not isinstance(data, dict):
        data = None
    elif 200 <= status < 300 and data.get("status") == 1:
        return Result(status, data, headers)
    from .outcome import refused

    raise refused(status, headers, data, secrets)
