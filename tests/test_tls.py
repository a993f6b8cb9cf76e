"""Verified TLS with SocketTransport(verify=True), against a local TLS server whose
certificates come from a test CA (trustme): the right CA passes; a wrong CA, a wrong host name
and an expired certificate are refused before any request is written."""

import datetime
import ssl
import subprocess
import sys

import pytest
import trustme

from pushover import Pushover, TemporaryError
from pushover import sock as sock_module
from pushover.errors import TLSError
from pushover.sock import SocketTransport, default_roots
from scripted_server import OK, ScriptedServer, reply

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def tls_server(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ScriptedServer(ssl_context=ctx)


def send_over(server, cadata, host="localhost"):
    url = server.url.replace("127.0.0.1", host) + "/1"
    po = Pushover(TOKEN, USER, api_url=url, timeout=3,
                  transport=SocketTransport(verify=True, cadata=cadata))
    return po.send("over TLS")


def test_right_ca_passes(ca):
    server = tls_server(ca.issue_cert("localhost"))
    try:
        server.replies.append(reply(200, OK))
        assert send_over(server, ca.cert_pem.bytes()).request == OK["request"]
        assert server.requests[0]["body"].startswith(b"token=")
    finally:
        server.stop()


def test_wrong_ca_is_refused(ca):
    server = tls_server(ca.issue_cert("localhost"))
    try:
        with pytest.raises(TLSError) as info:
            send_over(server, trustme.CA().cert_pem.bytes())
        assert info.value.retry is False
        assert TOKEN not in str(info.value)
        assert server.requests == [], "a request was written over an unverified connection"
    finally:
        server.stop()


def test_bundled_roots_refuse_a_test_ca(ca):
    server = tls_server(ca.issue_cert("localhost"))
    try:
        with pytest.raises(TLSError):
            send_over(server, None)
        assert server.requests == []
    finally:
        server.stop()


def test_wrong_host_name_is_refused(ca):
    server = tls_server(ca.issue_cert("other.example"))
    try:
        with pytest.raises(TLSError):
            send_over(server, ca.cert_pem.bytes())
        assert server.requests == []
    finally:
        server.stop()


def test_expired_certificate_is_refused(ca):
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    cert = ca.issue_cert("localhost", not_before=past,
                         not_after=past + datetime.timedelta(days=30))
    server = tls_server(cert)
    try:
        with pytest.raises(TLSError):
            send_over(server, ca.cert_pem.bytes())
        assert server.requests == []
    finally:
        server.stop()


def test_unset_clock_is_set_by_ntp_or_explained(monkeypatch, ca):
    monkeypatch.setattr(sock_module, "clock_is_set", lambda: False)
    monkeypatch.setitem(sys.modules, "ntptime", None)  # no NTP available
    server = tls_server(ca.issue_cert("localhost"))
    try:
        with pytest.raises(TLSError) as info:
            send_over(server, ca.cert_pem.bytes())
        assert "ntptime.settime()" in str(info.value)
        assert server.connections == 0, "no connection should be made before the clock is set"
    finally:
        server.stop()

    calls = []

    class FakeNtp:
        @staticmethod
        def settime():
            calls.append(1)
            monkeypatch.setattr(sock_module, "clock_is_set", lambda: True)

    monkeypatch.setitem(sys.modules, "ntptime", FakeNtp)
    sock_module.ensure_clock()
    assert calls == [1]


def test_bundled_roots_are_the_debian_digicert_roots():
    pem = default_roots().decode()
    assert pem.count("BEGIN CERTIFICATE") == 2
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=pem)
    names = sorted(dict(x[0] for x in c["subject"])["commonName"] for c in ctx.get_ca_certs())
    assert names == ["DigiCert Global Root CA", "DigiCert Global Root G2"]
    check = subprocess.run([sys.executable, "tools/make_roots.py", "--check"],
                           cwd=str(sock_module.__file__).rsplit("/lib/", 1)[0])
    assert check.returncode == 0


def test_plain_http_refused_connection_is_temporary():
    po = Pushover(TOKEN, USER, api_url="http://127.0.0.1:9/1", timeout=2,
                  transport=SocketTransport())
    with pytest.raises(TemporaryError):
        po.send("x")


# ---- MicroPython's tls, as the stand-in (tools/shim/tls.py) models it: a refused certificate
# is a ValueError, not an OSError; the library must still end in a TLSError, close its socket,
# keep a queued message and not resend


def test_the_tls_stand_in_refuses_with_a_value_error(ca):
    import socket

    import tls

    server = tls_server(ca.issue_cert("localhost"))
    try:
        for cadata, host, text in ((trustme.CA().cert_pem.bytes(), "localhost", "signed"),
                                   (ca.cert_pem.bytes(), "127.0.0.1", "(CN)")):
            ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
            ctx.verify_mode = tls.CERT_REQUIRED
            with pytest.raises(TypeError):
                ctx.load_verify_locations(cadata=cadata)  # positional only, as on the board
            ctx.load_verify_locations(cadata)
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=3)
            with pytest.raises(ValueError) as info:
                ctx.wrap_socket(raw, server_hostname=host)
            assert not isinstance(info.value, OSError) and text in str(info.value)
            raw.close()
            # put off to the first write, as asyncio's streams do
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=3)
            s = ctx.wrap_socket(raw, server_hostname=host, do_handshake_on_connect=False)
            with pytest.raises(ValueError):
                s.write(b"GET / HTTP/1.0\r\n\r\n")
            s.close()
        assert not hasattr(s, "sendall") and not hasattr(s, "makefile")
    finally:
        server.stop()


class Sockets(list):
    """A connect= for SocketTransport that keeps the sockets it made."""

    def __call__(self, host, port, timeout):
        import socket

        s = socket.create_connection((host, port), timeout=timeout)
        self.append(s)
        return s


def test_a_refused_certificate_closes_the_socket_and_is_never_resent(ca, tmp_path):
    from pushover import retry
    from pushover.queue import Queue

    server = tls_server(ca.issue_cert("other.example"))
    made = Sockets()
    url = server.url.replace("127.0.0.1", "localhost") + "/1"
    po = Pushover(TOKEN, USER, api_url=url, timeout=3,
                  transport=SocketTransport(verify=True, cadata=ca.cert_pem.bytes(),
                                            connect=made))
    try:
        with pytest.raises(TLSError):
            po.send("x")
        assert len(made) == 1 and made[0].fileno() == -1, "the socket was left open"
        slept = []
        with pytest.raises(TLSError):
            retry.send(po, "y", sleep=slept.append)
        assert slept == [] and len(made) == 2, "a TLS refusal was resent"
        q = Queue(str(tmp_path / "q.log"))
        q.put("z", po=po)
        sent, aside, left, error = q.flush(po)
        assert (sent, aside, left) == (0, 0, 1) and isinstance(error, TLSError)
        assert all(s.fileno() == -1 for s in made)
        assert server.requests == []
    finally:
        server.stop()
