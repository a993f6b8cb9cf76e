"""Sends over real loopback sockets through the stand-in of the firmware's requests
(tools/firmware/requests.py), each generation of it where they differ."""

import socket
import time

import pytest
import requests

from bodies import parse_multipart, parse_urlencoded
from pushover import (
    Pushover,
    QuotaError,
    RejectedError,
    TemporaryError,
    UnknownOutcomeError,
)
from scripted_server import OK, ScriptedServer, reply

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
QUOTA = (("X-Limit-App-Limit", "10000"), ("X-Limit-App-Remaining", "9876"),
         ("X-Limit-App-Reset", "1767225600"))


@pytest.fixture
def server():
    srv = ScriptedServer()
    yield srv
    srv.stop()


@pytest.fixture(params=requests.GENERATIONS)
def generation(request, monkeypatch):
    """Each generation of the firmware's requests: 0.10 (HTTP/1.0), 1.0 and 1.1 (HTTP/1.1)."""
    monkeypatch.setattr(requests, "GENERATION", request.param)
    return request.param


def client(server, **kw):
    return Pushover(TOKEN, USER, api_url=server.url + "/1", timeout=3, **kw)


def test_text_message(server, generation):
    server.replies.append(reply(200, OK, QUOTA))
    result = client(server).send("Door open ü", title="Garage", priority=1)
    assert result.request == OK["request"] and result.receipt is None
    assert (result.limit, result.remaining, result.reset) == (10000, 9876, 1767225600)
    (req,) = server.requests
    assert req["line"].startswith(b"POST /1/messages.json HTTP/1.")
    assert "transfer-encoding" not in req["headers"], "the body must not be chunked"
    assert int(req["headers"]["content-length"]) == len(req["body"])
    assert req["headers"]["connection"] == "close"
    assert parse_urlencoded(req["body"]) == [
        ("token", TOKEN), ("user", USER), ("message", "Door open ü"), ("title", "Garage"),
        ("priority", "1")]


def test_attachment_from_file(server, tmp_path, generation):
    path = tmp_path / "cam.jpg"
    path.write_bytes(JPEG)
    client(server, bufsize=256).send("motion", attachment=str(path))
    (req,) = server.requests
    assert "transfer-encoding" not in req["headers"]
    assert int(req["headers"]["content-length"]) == len(req["body"])
    parts = parse_multipart(req["headers"]["content-type"], req["body"])
    assert parts["attachment"][1] == JPEG
    assert parts["attachment"][0]["content-type"] == "image/jpeg"
    assert parts["message"][1] == b"motion"


def test_emergency_receipt(server):
    server.replies.append(reply(200, dict(OK, receipt="r" * 30)))
    result = client(server).send("Water!", priority=2, retry=30, expire=3600)
    assert result.receipt == "r" * 30


def test_chunked_reply(server, generation):
    """requests 1.1 de-chunks the reply itself and hands over a stream with only read(n);
    0.10 and 1.0 refuse it while reading headers: the body went out, the outcome is unknown."""
    server.replies.append(reply(200, dict(OK, receipt="c" * 30), QUOTA, chunked=True))
    if generation == "1.1":
        result = client(server).send("chunked")
        assert result.receipt == "c" * 30 and result.remaining == 9876
    else:
        with pytest.raises(UnknownOutcomeError) as info:
            client(server).send("chunked")
        assert "chunked" in str(info.value)


def test_lowercase_chunked_header_is_decoded_on_every_generation(server, generation):
    """0.10 and 1.0 recognise `Transfer-Encoding:` in exact case only, so a lower-case chunked
    reply reaches the library through the socket, and it decodes the chunks; 1.1 matches any
    case and de-chunks it before."""
    raw = reply(200, dict(OK, receipt="e" * 30), chunked=True)
    server.replies.append(raw.replace(b"Transfer-Encoding", b"transfer-encoding"))
    assert client(server).send("x").receipt == "e" * 30


def test_invalid_input_reply(server):
    body = {"user": "invalid", "errors": ["user identifier is invalid"], "status": 0,
            "request": "r1"}
    server.replies.append(reply(400, body))
    with pytest.raises(RejectedError) as info:
        client(server).send("x")
    err = info.value
    assert err.retry is False and err.http_status == 400
    assert err.errors == ["user identifier is invalid"] and err.fields == {"user": "invalid"}
    assert "user identifier is invalid" in str(err)


def test_status_0_with_200_is_rejected(server):
    server.replies.append(reply(200, {"status": 0, "errors": ["nope"]}))
    with pytest.raises(RejectedError):
        client(server).send("x")


def test_quota_reply(server):
    reset = int(time.time()) + 3600
    server.replies.append(reply(429, {"status": 0, "errors": ["quota"]},
                                (("X-Limit-App-Reset", str(reset)),)))
    with pytest.raises(QuotaError) as info:
        client(server).send("x")
    assert info.value.reset == reset and 3500 < info.value.retry_after <= 3600


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_temporary(server, status):
    server.replies.append(reply(status, b"<html>busy</html>"))
    with pytest.raises(TemporaryError) as info:
        client(server).send("x")
    assert info.value.retry is True and info.value.retry_after == 5


def test_connection_refused_is_temporary():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    po = Pushover(TOKEN, USER, api_url="http://127.0.0.1:%d/1" % port, timeout=2)
    with pytest.raises(TemporaryError):
        po.send("x")


def test_timeout_after_body_is_unknown_outcome(server):
    def silent(conn, f, line, headers, srv):
        f.read(int(headers["content-length"]))
        time.sleep(2)

    server.replies.append(silent)
    po = client(server)
    po.timeout = 0.5
    started = time.monotonic()
    with pytest.raises(UnknownOutcomeError) as info:
        po.send("x")
    assert time.monotonic() - started < 2
    assert info.value.retry is None


def test_close_without_reply_is_unknown_outcome(server):
    def hang_up(conn, f, line, headers, srv):
        f.read(int(headers["content-length"]))

    server.replies.append(hang_up)
    with pytest.raises(UnknownOutcomeError):
        client(server).send("x")


def test_close_without_reply_to_a_get_is_temporary_and_not_called_unsent(server):
    """A GET repeats safely; it went out, so its error does not say it was never sent."""

    def hang_up(conn, f, line, headers, srv):
        pass

    server.replies.append(hang_up)
    with pytest.raises(TemporaryError) as got:
        client(server).request("GET", "sounds.json?token=" + TOKEN)
    assert "before the request was sent" not in str(got.value)


def test_drop_mid_body_is_not_unknown(server, tmp_path):
    def drop(conn, f, line, headers, srv):
        f.read(100)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")

    server.replies.append(drop)
    # 5 MB is more than loopback's socket buffers take from a reader that stops reading
    # (about 4 MB sent plus 128 KB received), so the reset must come before the last byte
    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:
        f.truncate(5_000_000)
    with pytest.raises((TemporaryError, UnknownOutcomeError)) as info:
        client(server).send("x", attachment=str(big), attachment_type="image/jpeg")
    # the body could not have been fully sent: a retry is safe
    assert isinstance(info.value, TemporaryError), info.value


def test_redirect_is_not_followed(server, generation):
    server.replies.append(reply(302, b"", (("Location", server.url + "/elsewhere"),)))
    with pytest.raises(RejectedError) as info:
        client(server).send("x")
    assert "redirect" in str(info.value)
    time.sleep(0.2)
    assert len(server.requests) == 1, "the redirect was followed"


def test_oversized_reply(server):
    server.replies.append(reply(200, b"{" + b" " * 100_000 + b"}"))
    with pytest.raises(UnknownOutcomeError):
        client(server).send("x")
    server.replies.append(reply(400, b"x" * 100_000))
    with pytest.raises(RejectedError):
        client(server).send("x")


def test_oversized_reply_to_a_get_is_unknown_as_on_the_other_transports(server):
    """A 2xx reply that cannot be read is the same error for a GET as for a POST, on every
    transport (outcome.unreadable): accepted, but the reply could not be read."""
    server.replies.append(reply(200, b"{" + b" " * 100_000 + b"}"))
    with pytest.raises(UnknownOutcomeError) as got:
        client(server).request("GET", "sounds.json?token=" + TOKEN)
    assert "could not be read" in str(got.value) and "larger than" in str(got.value)
    assert TOKEN not in str(got.value)


def test_not_json_reply(server):
    server.replies.append(reply(200, b"<html>captive portal</html>"))
    with pytest.raises(UnknownOutcomeError):
        client(server).send("x")


class CountingResponse:
    closed = 0


def test_response_closed_on_every_path(server, monkeypatch, generation):
    real = requests.Requests.request
    opened = []

    def tracking(self, *a, **kw):
        resp = real(self, *a, **kw)
        opened.append(resp)
        return resp

    monkeypatch.setattr(requests.Requests, "request", tracking)
    for r in (reply(200, OK), reply(400, {"status": 0}), reply(500, b""),
              reply(200, b"x" * 10_000), reply(429, b"{}")):
        server.replies.append(r)
        try:
            client(server).send("x")
        except Exception:
            pass
    assert len(opened) == 5 and all(resp.raw is None for resp in opened)


def test_secrets_never_in_errors(server):
    echo = "token %s user %s" % (TOKEN, USER)
    server.replies.append(reply(400, {"status": 0, "errors": [echo], "token": TOKEN}))
    server.replies.append(b"HTTP/1.1 " + TOKEN.encode() + b"\r\n\r\n")
    server.replies.append(reply(500, {"errors": [echo]}))
    for _ in range(3):
        with pytest.raises(Exception) as info:
            client(server).send("x")
        e = info.value
        text = str(e) + repr(e) + repr(vars(e))
        assert TOKEN not in text and USER not in text, text
