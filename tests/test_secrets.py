"""The application token, the user key and the end-to-end encryption key never leak: every
error path reachable against the local server (each fault mode, each validation error, refused
keys, a failed TLS handshake, queue set-aside records, receipts, glances, account calls, and
the same sends with encryption on), with both transports, is driven with distinctive keys; no
key (nor a 10-character piece of one; for the encryption key, of its hex in either case or of
its bytes) may appear in str() or repr() of an error or of anything it carries or chains to, in
the repr of the client, transport, queue or results, in the queue file (which keeps only a
message's own `user=`, and never the encryption key), in captured stdout/stderr, or in logging
output (each error is also logged with its traceback, as an application would).
"""

import logging
import time

import pytest

from live import (
    FAULT_MODES,
    TRANSPORTS,
    api_requests,
    client,
    close,
    settled_requests,
    start_server,
)
from pushover import FieldError, Pushover, PushoverError, QuotaError
from pushover import retry as retry_module
from pushover.account import limits, sounds, validate_user
from pushover.e2e import EncryptionError, Encryptor
from pushover.glances import glance
from pushover.queue import Queue
from pushover.receipts import Receipts
from pushover.sock import SocketTransport

pytestmark = pytest.mark.timeout(60)  # every error path of both transports, bounded

TOKEN = "SECRETtokenQ7w3Zp9Lx2Vb8Nm4Kj1"
USER = "PRIVATEuserR5t6Y7u8I9o0P1a2S3d"
WRONG_TOKEN = "WRONGtokenH4g5F6d7S8a9Q0w1E2r3"
STRANGER = "STRANGERuserZ1x2C3v4B5n6M7k8J9"  # a user key the server does not know
# the end-to-end encryption key, as given (hex), in the other case, and as its bytes would
# show in a repr; every byte of it is a letter or digit, so its repr is its 32 characters
KEY_HEX = "4b45594b6579536563726574526177426974733132333435363738394142435a"
KEY_BYTES = bytes.fromhex(KEY_HEX)
assert KEY_BYTES.isalnum() and repr(KEY_BYTES) == "b'" + KEY_BYTES.decode() + "'"
SECRETS = (TOKEN, USER, WRONG_TOKEN, STRANGER, KEY_HEX, KEY_HEX.upper(), KEY_BYTES.decode())
assert all(len(s) == 30 and s.isalnum() for s in SECRETS[:4])
PIECE = 10
LOG = logging.getLogger("app")


def leaks(text):
    """The secrets (or pieces of PIECE characters of them) found in `text`."""
    found = []
    for secret in SECRETS:
        for i in range(len(secret) - PIECE + 1):
            if secret[i:i + PIECE] in text:
                found.append(secret)
                break
    return found


def describe(obj):
    """Everything an application could print of an object or error."""
    parts = [str(obj), repr(obj)]
    if isinstance(obj, BaseException):
        parts += [repr(getattr(obj, "args", ())), repr(vars(obj))]
        for linked in (obj.__cause__, obj.__context__):
            if linked is not None:
                parts += [str(linked), repr(linked), repr(getattr(linked, "args", ()))]
    elif hasattr(obj, "__dict__") and not isinstance(obj, (Pushover, SocketTransport,
                                                            Encryptor)):
        parts.append(repr(vars(obj)))  # results: every attribute
    return "\n".join(parts)


class Collector:
    """Runs calls that are expected to fail (or succeed), keeps what came back."""

    def __init__(self):
        self.items = []
        self.errors = 0

    def expect_error(self, call, kinds=PushoverError):
        try:
            result = call()
        except kinds as e:
            self.errors += 1
            self.items.append(e)
            LOG.exception("call failed: %s", e)
            LOG.warning("as repr: %r", e)
            return e
        raise AssertionError("no error from %r (got %r)" % (call, result))

    def keep(self, obj):
        self.items.append(obj)
        LOG.info("result: %r", obj)
        return obj


def fault_paths(c, srv, po, kind):
    """Every fault mode on a send and on the other calls (GETs carry the token in the URL)."""
    for mode in FAULT_MODES:
        srv.set_fault(mode, 1)
        if mode in ("chunked", "keepalive") and (kind != "requests-0.10" or mode == "keepalive"):
            c.keep(po.send("fault " + mode))
        else:
            c.expect_error(lambda text="fault " + mode: po.send(text))
    po.timeout = 3
    for mode in ("drop_mid_body", "no_reply", "500", "503", "429", "invalid_json", "oversized"):
        for call in (lambda: sounds(po), lambda: limits(po), lambda: validate_user(po),
                     lambda: glance(po, title="x"), lambda: Receipts(po).status("R" * 30)):
            srv.set_fault(mode, 1)
            c.expect_error(call)
            srv.set_fault(None)


def transport_paths(c, tmp_path, kind):
    """Every error path through one transport against a server that knows TOKEN and USER."""
    srv = start_server(tmp_path / ("srv-" + kind), tokens=[TOKEN], users=[USER],
                       slow_seconds=2)
    po = client(srv, kind, token=TOKEN, user=USER, timeout=0.5)
    wrong = client(srv, kind, token=WRONG_TOKEN, user=USER)
    try:
        fault_paths(c, srv, po, kind)
        # validation errors, before any I/O (also with a secret-looking value nearby)
        before = len(settled_requests(srv, quiet=1.0, wait=6.0))
        for call in (lambda: po.send("x" * 1025), lambda: po.send(""),
                     lambda: po.send("x", user=USER + "x"),
                     lambda: po.send("x", user=USER[:-1] + "!"),
                     lambda: po.send("x", user=[USER] * 51),
                     lambda: po.send("x", priority=2),
                     lambda: po.send("x", html=1, monospace=1),
                     lambda: po.send("x", device=USER + "toolong"),
                     lambda: po.send("x", attachment=b"\x00" * 20),
                     lambda: Pushover(TOKEN + "x", USER),
                     lambda: Pushover(TOKEN[:-1] + "-", USER),
                     lambda: Pushover(TOKEN, USER + "x"),
                     lambda: Receipts(po).status(TOKEN + "x"),
                     lambda: Receipts(po).cancel_by_tag(""),
                     lambda: glance(po, percent=101),
                     lambda: validate_user(po, user=USER[:20]),
                     lambda: retry_module.send(po, "x", on_unknown="maybe")):
            c.expect_error(call, FieldError)
        assert len(api_requests(srv)) == before
        # refused by the server: wrong token, unknown user, unknown device and receipt
        c.expect_error(lambda: wrong.send("x"))
        c.expect_error(lambda: sounds(wrong))
        c.expect_error(lambda: limits(wrong))
        c.expect_error(lambda: glance(wrong, count=1))
        c.expect_error(lambda: Receipts(wrong).cancel_by_tag("t"))
        c.expect_error(lambda: po.send("x", user=STRANGER))
        c.expect_error(lambda: validate_user(po, user=STRANGER))
        c.expect_error(lambda: validate_user(po, device="toaster"))
        c.expect_error(lambda: Receipts(po).cancel("R" * 30))
        # successes: their results must be clean too
        receipt = c.keep(po.send("ok", priority=2, retry=30, expire=60)).receipt
        c.keep(Receipts(po).status(receipt))
        srv.acknowledge(receipt)  # now the status names the user key that acknowledged it
        acked = Receipts(po).status(receipt)
        assert acked.acknowledged and acked.acknowledged_by == USER
        c.keep(repr(acked))
        c.keep(validate_user(po))
        c.keep(limits(po))
        c.keep(glance(po, count=2))
        # the retry layer: gives up after its attempts, and on a quota beyond the deadline
        srv.set_fault("503", None)
        c.expect_error(lambda: retry_module.send(
            po, "x", attempts=2, sleep=lambda s: None))
        srv.set_fault("429", 1)
        c.expect_error(lambda: retry_module.send(po, "x"), QuotaError)
        srv.set_fault(None)
        # the queue: set-aside reasons from a refused token and an unknown outcome
        q = Queue(str(tmp_path / ("q-" + kind)))
        q.put("first")
        q.put("second", user=STRANGER)
        q.put("third")
        c.keep(wrong_flush := q.flush(wrong))
        assert wrong_flush[:3] == (0, 3, 0)
        q.put("fourth")
        srv.set_fault("no_reply", 1)
        c.keep(q.flush(po, on_unknown="drop"))
        for _, reason, message in q.set_aside():
            c.keep(reason)
            c.keep(message)
        assert len(q.set_aside()) == 4
        assert any("application token is invalid" in r for _, r, _ in q.set_aside())
        c.keep(q)
        # the file keeps a message's own `user=` (it is needed to send it later), never
        # the client's token or user key
        with open(q.path, "rb") as f:
            log = f.read().decode()
        assert STRANGER in log and leaks(log.replace(STRANGER, "")) == []
        c.keep(po)
        c.keep(po.transport)
        c.keep(wrong)
    finally:
        close(po)
        close(wrong)
        srv.stop()


def encryption_paths(c, tmp_path, kind):
    """The same client with encryption on: sends that succeed, fail or are refused, a bad key
    at construction, a cipher failing mid-way, the queue; the key must show up nowhere."""
    srv = start_server(tmp_path / ("srv-e2e-" + kind), tokens=[TOKEN], users=[USER])
    po = client(srv, kind, token=TOKEN, user=USER, timeout=0.5, encryption_key=KEY_HEX)
    try:
        c.keep(po.send("sealed", title="t", url="https://x.example"))
        for mode in ("500", "429", "no_reply", "drop_mid_body"):
            srv.set_fault(mode, 1)
            c.expect_error(lambda: po.send("sealed fault"))
        srv.set_fault(None)
        c.expect_error(lambda: po.send("x", user=STRANGER))
        before = len(settled_requests(srv, quiet=1.0, wait=6.0))
        for bad in (KEY_HEX[:-1], KEY_HEX + "0", KEY_HEX[:-1] + "g", KEY_BYTES, KEY_HEX.encode(),
                    " " + KEY_HEX[1:]):
            c.expect_error(lambda bad=bad: Pushover(TOKEN, USER, encryption_key=bad), FieldError)
        c.expect_error(lambda: po.send("x" * 1025), FieldError)
        c.expect_error(lambda: po.send("x", priority=2), FieldError)
        cipher = po._e2e._aes
        po._e2e._aes = lambda key, mode, iv: cipher(key, 3, iv)  # cryptolib refuses: mode
        c.expect_error(lambda: po.send("x"), EncryptionError)
        po._e2e._aes = cipher
        assert len(api_requests(srv)) == before
        q = Queue(str(tmp_path / ("q-e2e-" + kind)))
        q.put("queued", po=po, title="t")
        q.put("refused", po=po, user=STRANGER)
        c.keep(q.flush(po))
        for _, reason, message in q.set_aside():
            c.keep(reason)
            c.keep(message)
        with open(q.path, "rb") as f:
            raw = f.read()
        assert KEY_BYTES not in raw
        assert leaks(raw.decode().replace(STRANGER, "")) == []
        c.keep(q)
        c.keep(po)
        c.keep(po._e2e)
        c.keep(po.transport)
    finally:
        close(po)
        srv.stop()


def assert_nothing_leaked(c, capfd, caplog):
    """Every kind of error was reached, and no secret is in anything the collector kept, in
    what was printed or in the log."""
    kinds = {type(x).__name__ for x in c.items if isinstance(x, BaseException)}
    assert kinds >= {"FieldError", "RejectedError", "QuotaError", "TemporaryError",
                     "UnknownOutcomeError", "TLSError"}, kinds
    for item in c.items:
        text = describe(item)
        assert not leaks(text), (leaks(text), text)
    out, err = capfd.readouterr()
    assert not leaks(out) and not leaks(err)
    assert not leaks(caplog.text), leaks(caplog.text)


def test_no_secret_on_any_error_path(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    c = Collector()
    for kind in TRANSPORTS:
        transport_paths(c, tmp_path, kind)
        encryption_paths(c, tmp_path, kind)
    # a TLS handshake that fails (an https URL on the plain HTTP server) and a server that is
    # gone, on both transports
    srv = start_server(tmp_path / "srv-tls")
    url = srv.api_url.replace("http://", "https://")
    try:
        verified = Pushover(TOKEN, USER, api_url=url, timeout=2,
                            transport=SocketTransport(verify=True))
        c.expect_error(lambda: verified.send("x"))
        c.expect_error(lambda: sounds(verified))
        c.expect_error(lambda: Pushover(TOKEN, USER, api_url=url, timeout=2).send("x"))
        c.keep(verified.transport)
    finally:
        srv.stop()
    time.sleep(0.2)
    c.expect_error(lambda: Pushover(TOKEN, USER, api_url=srv.api_url, timeout=1).send("x"))
    c.expect_error(lambda: Pushover(TOKEN, USER, api_url=srv.api_url, timeout=1,
                                    transport=SocketTransport()).send("x"))

    # every error path was reached
    assert c.errors >= 2 * (8 + 7 * 5 + 17 + 9 + 2 + 4 + 2 + 6 + 3) + 5, c.errors
    assert_nothing_leaked(c, capfd, caplog)
    assert "Traceback" in caplog.text and "RejectedError" in caplog.text


def test_the_checker_finds_a_leak():
    """The check above would notice a key, or a piece of one, if it were there."""
    assert leaks("token=" + TOKEN) == [TOKEN]
    assert leaks("…" + USER[5:16] + "…") == [USER]
    assert leaks("nothing here, SECR… is a masked prefix") == []
    err = FieldError("user", "is wrong")
    err.__context__ = OSError("while sending " + STRANGER)
    assert leaks(describe(err)) == [STRANGER]
    assert KEY_HEX in leaks("key=" + KEY_HEX[30:40])
    assert leaks("4B45594B6579") == [KEY_HEX.upper()]
    assert leaks(repr(KEY_BYTES)) == [KEY_BYTES.decode()]
    # what holds the key keeps it out of its repr, but its attributes do hold it
    enc = Encryptor(KEY_HEX)
    assert leaks(describe(enc)) == [] and KEY_BYTES in vars(enc).values()


def aio_paths(c, tmp_path):
    """The asyncio forms (pushover.aio) on the same paths: every fault mode, refused keys,
    validation, receipts, the queue, resends, a failed TLS handshake, a server gone."""
    import asyncio

    from pushover import aio

    run = asyncio.run

    async def no_sleep(seconds):
        pass

    srv = start_server(tmp_path / "srv-aio", tokens=[TOKEN], users=[USER], slow_seconds=2)
    po = Pushover(TOKEN, USER, api_url=srv.api_url, timeout=0.5, transport=object())
    wrong = Pushover(WRONG_TOKEN, USER, api_url=srv.api_url, timeout=2, transport=object())
    try:
        for mode in FAULT_MODES:
            srv.set_fault(mode, 1)
            if mode in ("chunked", "keepalive"):
                c.keep(run(aio.send(po, "fault " + mode)))
            else:
                c.expect_error(lambda mode=mode: run(aio.send(po, "fault " + mode)))
        srv.set_fault(None)
        for call in (lambda: run(aio.send(po, "x" * 1025)),
                     lambda: run(aio.send(po, "x", user=USER + "x")),
                     lambda: run(aio.wait_receipt(po, TOKEN + "x", 10)),
                     lambda: run(aio.retry_send(po, "x", on_unknown="maybe"))):
            c.expect_error(call, FieldError)
        c.expect_error(lambda: run(aio.send(wrong, "x")))
        c.expect_error(lambda: run(aio.send(po, "x", user=STRANGER)))
        receipt = c.keep(run(aio.send(po, "ok", priority=2, retry=30, expire=60))).receipt
        srv.acknowledge(receipt)
        acked = run(aio.wait_receipt(po, receipt, 0))
        assert acked.acknowledged and acked.acknowledged_by == USER
        c.keep(repr(acked))  # the user who acknowledged is in its data, never in its repr
        srv.set_fault("503", None)
        c.expect_error(lambda: run(aio.retry_send(po, "x", attempts=2, sleep=no_sleep)))
        srv.set_fault(None)
        q = Queue(str(tmp_path / "q-aio"))
        q.put("first")
        q.put("second", user=STRANGER)
        c.keep(run(aio.flush(q, wrong)))
        for _, reason, message in q.set_aside():
            c.keep(reason)
            c.keep(message)
        assert len(q.set_aside()) == 2
        c.keep(aio.Connection(po))
        # a TLS handshake that fails: an https URL on the plain HTTP server
        url = srv.api_url.replace("http://", "https://")
        c.expect_error(lambda: run(aio.send(Pushover(TOKEN, USER, api_url=url, timeout=1,
                                                     transport=object()), "x")))
    finally:
        srv.stop()
    c.expect_error(lambda: run(aio.send(po, "x")))  # the server is gone


def test_no_secret_on_any_aio_path(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    c = Collector()
    aio_paths(c, tmp_path)
    assert c.errors >= 8 + 4 + 2 + 1 + 2, c.errors
    assert_nothing_leaked(c, capfd, caplog)


@pytest.mark.parametrize("kind", ["token", "user", "user given to send", "inside a path"])
@pytest.mark.parametrize("field", ["attachment", "attachment_base64"])
def test_a_key_given_as_an_attachment_path_is_not_echoed(kind, field, tmp_path):
    """An error about a path shows the path, except where a key was given as one by mistake
    (notify(message, USER) for notify(message, image)): then it says so instead."""
    token, user, other = "aToken0123456789abcdefghijKLMN", "uUser0123456789abcdefghijKLMNO", \
        "oOther123456789abcdefghijKLMNO"
    po = Pushover(token, user, transport=object())
    path = {"token": token, "user": user, "user given to send": other,
            "inside a path": str(tmp_path / (user + ".jpg"))}[kind]
    extra = {"attachment_type": "image/jpeg"} if field == "attachment_base64" else {}
    with pytest.raises(FieldError) as info:
        po.form("Door open", user=other if kind == "user given to send" else None,
                **{field: path}, **extra)
    text = str(info.value)
    assert info.value.field == field and "(a key, not a path)" in text, text
    for key in (token, user, other):
        assert key not in text and key[:10] not in text, text
    folder = tmp_path / "photos"
    folder.mkdir()
    with pytest.raises(FieldError, match="is a folder, not a file: .*photos"):
        po.form("Door open", attachment=str(folder))  # a path that holds no key is shown


@pytest.mark.parametrize("given", ["uUser0123456789abcdefghijKLMNO", "aToken0123456789abcdefghijKLMN",
                                   2.5, [3]])
def test_an_attachment_size_that_is_not_a_number_is_not_echoed(given):
    """attachment_size's error shows the size given only when it is a whole number: a str
    there could be a key pasted into the wrong argument."""
    po = Pushover("aToken0123456789abcdefghijKLMN", "uUser0123456789abcdefghijKLMNO",
                  transport=object())
    with pytest.raises(FieldError) as info:
        po.form("Door open", attachment=b"\xff\xd8\xff", attachment_size=given)
    assert str(info.value) == "attachment_size: must be a whole number of bytes"
    with pytest.raises(FieldError, match=r"does not match the data's size \(got 4\)"):
        po.form("Door open", attachment=b"\xff\xd8\xff", attachment_size=4)
