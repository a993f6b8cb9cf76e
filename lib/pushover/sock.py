"""A small HTTP/1.1 transport on sockets, for what the firmware's `urequests` cannot do:
verified TLS (`verify=True`), one keep-alive connection for many requests (a queue flush), and
chunked replies on any firmware.

    from pushover.sock import SocketTransport
    po = Pushover(TOKEN, USER, transport=SocketTransport(verify=True))

Verification uses the roots in pushover/roots.pem (DigiCert Global Root G2 and Global Root CA,
which Pushover's certificates chain to) or the PEM/DER `cadata` given. mbedTLS checks
certificate dates, so the clock must be set: if it is not, NTP is tried once, else a TLSError
says what to do.
"""

from micropython import const

from .errors import TemporaryError, TLSError
from .http import REPLY_CAP, _int_or_none, failure, read_body

_MAX_HEADERS = const(40)
_MAX_LINE = const(1024)
_MIN_YEAR = const(2024)
_WANTED = ("content-length", "transfer-encoding", "connection", "location",
           "x-limit-app-limit", "x-limit-app-remaining", "x-limit-app-reset")
_NAME_LENGTHS = {len(name) for name in _WANTED}


def default_roots():
    """The bundled trust roots (PEM), read from the file next to this module."""
    path = __file__.rsplit("/", 1)[0] + "/roots.pem" if "/" in __file__ else "roots.pem"
    with open(path, "rb") as f:
        return f.read()


def clock_is_set():
    import time

    return time.gmtime()[0] >= _MIN_YEAR


def ensure_clock():
    """Certificates cannot be checked by a board that thinks it is 2000: set it by NTP."""
    if clock_is_set():
        return
    try:
        import ntptime

        ntptime.settime()
    except Exception:  # no ntptime, no network, no answer: said below
        pass
    if not clock_is_set():
        raise TLSError("the board's clock is not set, so certificates cannot be checked: "
                       "connect to Wi-Fi and call ntptime.settime() before a verified send")


def _tls_module():
    """MicroPython's `tls` (1.23+), or CPython's `ssl` where there is none."""
    try:
        import tls

        return tls
    except ImportError:
        import ssl

        return ssl


def tls_context(mod=None, cadata=None, verify=True):
    """A client SSLContext of MicroPython's `tls` or CPython's `ssl` (or the module `mod`
    given) that checks the certificate chain against `cadata` and the host name (`verify`),
    or checks nothing. The socket transport wraps sockets with it; asyncio's open_connection
    takes it as it is."""
    mod = mod or _tls_module()
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    if getattr(mod, "__name__", "") == "ssl":  # CPython's: CERT_REQUIRED and host checks
        if not verify:
            ctx.check_hostname = False  # pyright: ignore[reportAttributeAccessIssue] CPython
            ctx.verify_mode = mod.CERT_NONE  # pyright: ignore[reportAttributeAccessIssue]
        else:
            if isinstance(cadata, (bytes, bytearray)) and cadata.lstrip()[:5] == b"-----":
                cadata = cadata.decode()
            ctx.load_verify_locations(cadata=cadata)  # pyright: ignore[reportCallIssue, reportArgumentType]
        return ctx
    # (the stubs type tls's verify_mode as ssl's enum; the firmware takes its int constants)
    if verify:
        ctx.verify_mode = mod.CERT_REQUIRED  # pyright: ignore[reportAttributeAccessIssue]
        ctx.load_verify_locations(cadata)  # positional: `cadata=` raises on MicroPython
    else:
        ctx.verify_mode = mod.CERT_NONE  # pyright: ignore[reportAttributeAccessIssue]
    return ctx


def tls_wrap(sock, host, cadata, mod=None, verify=True):
    """Wrap with certificate and host name checks (`verify`), on MicroPython's `tls` or
    CPython's `ssl` (or the module `mod` given). A refused certificate raises here: ValueError
    with mbedTLS's text on MicroPython, an SSLCertVerificationError on CPython."""
    return tls_context(mod, cadata, verify).wrap_socket(sock, server_hostname=host)


class _Stream:
    """write/read/readline over a CPython socket; MicroPython sockets have them already."""

    def __init__(self, sock):
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def write(self, data):
        self.sock.sendall(data)

    def read(self, n):
        return self.rfile.read(n)

    def readline(self):
        return self.rfile.readline(_MAX_LINE)

    def close(self):
        self.rfile.close()
        self.sock.close()


def take_header(headers, line):
    """Keep one raw reply header line in `headers` (lower-case name -> value) if it is one the
    library reads; OSError (a broken reply) if such a header is not text."""
    if line.find(b":") not in _NAME_LENGTHS:  # skipped before anything is allocated for it
        return
    name, _, value = line.partition(b":")
    try:
        name = name.strip().lower().decode()
        if name in _WANTED:
            headers[name] = value.strip().decode()
    except UnicodeError:
        if name in _WANTED:
            raise OSError("reply header " + name + " is not text") from None


def check_replay(form):
    """Before a request goes again on a new connection, because the kept-alive one broke
    before it got through: a TemporaryError if its attachment stream cannot be replayed."""
    if form is not None and not form.restartable:
        raise TemporaryError("the kept-alive connection broke before the request was sent "
                             "and the attachment stream cannot be replayed")


def _split_url(url):
    scheme, _, rest = url.partition("://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    if scheme not in ("http", "https") or not host:
        raise TemporaryError("unsupported URL: " + scheme)
    return scheme == "https", host, int(port) if port else (443 if scheme == "https" else 80), \
        "/" + path


class SocketTransport:
    """HTTP/1.1 over one socket, reused while the server keeps it open (`keepalive`).

    `verify`: check the certificate chain and host name (https only) against `cadata` (PEM or
    DER bytes; default: the bundled roots). `connect` makes the TCP socket and `tls` is the
    module that wraps it (default: the firmware's `tls`); tests pass fakes of both.
    """

    def __init__(self, verify=False, cadata=None, keepalive=True, reply_cap=REPLY_CAP,
                 connect=None, tls=None):
        self.verify = verify
        self.cadata = cadata
        self.keepalive = keepalive
        self.reply_cap = reply_cap
        self.connect = self._connect if connect is None else connect
        self.tls = tls
        self._conn = None  # [key, stream, poller (None: not made yet, False: cannot poll)]
        self.connections = 0  # opened so far (for measurements)
        self.body_out = False  # made here: setting it later allocates nothing

    def _connect(self, host, port, timeout):
        import socket

        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        sock = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
        try:
            sock.settimeout(timeout)
            sock.connect(ai[-1])
        except BaseException:
            sock.close()
            raise
        return sock

    def _open(self, tls, host, port, timeout):
        key = (tls, host, port)
        if self._conn is not None and self._conn[0] == key:
            if not _readable(self._conn):
                return self._conn[1], True
            # readable while idle: the server closed it (or sent something unasked), so it
            # cannot carry a request; found now, before anything is sent, a new connection
            # is safe (after the body went out, it would be an unknown outcome)
        self.close()
        if tls and self.verify:
            ensure_clock()
        sock = self.connect(host, port, timeout)
        try:
            if tls:
                # a refused certificate raises here (ValueError on MicroPython), or at the
                # first write where the handshake is put off; either way classify() says so
                sock = tls_wrap(sock, host, self.verify and (self.cadata or default_roots()),
                                self.tls, self.verify)
        except BaseException:
            sock.close()
            raise
        stream = sock if hasattr(sock, "readline") else _Stream(sock)
        self.connections += 1
        self._conn = [key, stream, None]
        return stream, False

    def close(self):
        if self._conn is not None:
            try:
                self._conn[1].close()
            except OSError:
                pass
            self._conn = None

    def request(self, method, url, form=None, timeout=None, secrets=()):
        self.body_out = False  # whether the whole body went out (UrequestsTransport.body_out)
        tls, host, port, path = _split_url(url)
        while True:
            try:
                stream, reused = self._open(tls, host, port, timeout)
            except Exception as e:
                raise failure(e, 0, 0, secrets, "cannot connect to " + host) from None
            try:
                return self._exchange(stream, method, host, path, form, reused, secrets)
            except _Stale:
                # the server had closed the idle connection before the whole request got
                # through: send again once on a new connection (it cannot have been acted on)
                self.close()
                check_replay(form)
            except BaseException:
                self.close()
                raise

    def _exchange(self, stream, method, host, path, form, reused, secrets):
        head = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
        if form is not None:
            head += ("Content-Type: " + form.content_type + "\r\nContent-Length: "
                     + str(form.length) + "\r\n")
        head += "Connection: " + ("keep-alive" if self.keepalive else "close") + "\r\n\r\n"
        head = head.encode()
        # what could be acted on twice is a body: a GET (no body) counts as nothing to send
        length = 0 if form is None else len(head) + form.length
        sent = 0
        try:
            if form is None:
                stream.write(head)
            else:
                chunks = form.chunks(head)
                try:
                    for chunk in chunks:
                        stream.write(chunk)
                        sent += len(chunk)
                finally:
                    chunks.close()
                self.body_out = True  # for Pushover.request, as UrequestsTransport says it
        except Exception as e:
            if reused and (form is None or sent < length) and _nothing_read(e):
                raise _Stale() from None  # a reused connection the server had closed
            self.close()  # before outcome.py loads: the connection's memory is free
            raise failure(e, sent, length, secrets, "network error") from None
        try:
            return self._reply(stream, secrets)
        except Exception as e:
            if reused and form is None and _nothing_read(e):
                raise _Stale() from None  # a GET is safe to send again
            self.close()  # before outcome.py loads: the connection's memory is free
            raise failure(e, sent, length, secrets, "network error") from None

    def _reply(self, stream, secrets):
        line = stream.readline()
        if not line:
            raise OSError("connection closed before the reply")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise OSError("not an HTTP reply")
        try:
            status = int(parts[1])
        except ValueError:  # an OSError, so that it is reported like any broken reply
            raise OSError("not an HTTP reply") from None
        headers = {}
        for _ in range(_MAX_HEADERS):
            line = stream.readline()
            if not line or line == b"\r\n":
                break
            take_header(headers, line)
        else:
            raise OSError("too many reply headers")
        if "location" in headers:
            from .outcome import redirected

            raise redirected()
        try:
            body = read_body(stream, headers, self.reply_cap)
        except ValueError as e:
            if 200 <= status < 300:
                from .outcome import unreadable

                raise unreadable(e, secrets) from None
            body = b""
            self.close()
        keep = (self.keepalive and parts[0] == b"HTTP/1.1"
                and headers.get("connection", "").lower() != "close"
                and (_int_or_none(headers.get("content-length")) is not None
                     or "chunked" in headers.get("transfer-encoding", "")))
        if not keep:
            self.close()
        return status, headers, body


class _Stale(Exception):
    pass


def _readable(conn):
    """Whether an idle kept-alive connection has something to read: end of file (the server
    closed it) or bytes nobody asked for. False when it cannot be told (no `select`, a fake).
    The poller is made once per connection; MicroPython's ipoll() allocates nothing."""
    poller = conn[2]
    if poller is None:
        try:
            import select

            poller = select.poll()
            poller.register(getattr(conn[1], "sock", conn[1]), select.POLLIN)
        except Exception:  # no select module, or an object poll cannot watch
            poller = False
        conn[2] = poller
    if not poller:
        return False
    try:
        events = poller.ipoll(0) if hasattr(poller, "ipoll") else poller.poll(0)
        for _ in events:
            return True
    except Exception:
        pass
    return False


def _nothing_read(e):
    """A reused keep-alive connection that the server had already closed."""
    code = getattr(e, "errno", None)
    return code in (32, 104) or "closed before the reply" in str(e)  # EPIPE, ECONNRESET
