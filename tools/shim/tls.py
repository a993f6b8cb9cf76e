"""Host-only stand-in for MicroPython's `tls` module (as observed on the v1.29 unix port with
mbedTLS 3.6), over CPython's `ssl`. It behaves as the firmware's does where the library
depends on it, and can do no more:

- `SSLContext(PROTOCOL_TLS_CLIENT)`, `verify_mode` (CERT_NONE / CERT_OPTIONAL /
  CERT_REQUIRED), `load_verify_locations(cadata)` positional only (a keyword raises TypeError),
  PEM or DER bytes; `wrap_socket(sock, server_side=False, do_handshake_on_connect=True,
  server_hostname=None)`;
- the wrapped socket has only the stream methods: read, readinto, readline, write,
  setblocking, close;
- a refused certificate raises ValueError with mbedTLS's text (wrong CA, host name, expired),
  not CPython's SSLCertVerificationError; other handshake failures raise OSError with a
  negative mbedTLS code; with do_handshake_on_connect=False both come at the first write/read.
"""

import ssl as _ssl

PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2
MBEDTLS_VERSION = "Mbed TLS 3.6.0"

_NOT_SIGNED = "The certificate is not correctly signed by the trusted CA"
_BAD_CN = "The certificate Common Name (CN) does not match with the expected CN"
_EXPIRED = "The certificate validity has expired"
_CONN_EOF = -0x7280  # MBEDTLS_ERR_SSL_CONN_EOF
_FATAL_ALERT = -0x7780  # MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE
_INVALID_RECORD = -0x7200  # MBEDTLS_ERR_SSL_INVALID_RECORD


def _mbedtls_error(e):
    """The exception MicroPython's tls raises where CPython's ssl raised `e`."""
    if isinstance(e, _ssl.SSLCertVerificationError):
        code = getattr(e, "verify_code", None)
        if code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
            return ValueError(_EXPIRED)
        if code == 62 or "hostname" in str(e).lower() or "match" in str(e).lower():
            return ValueError(_BAD_CN)
        return ValueError(_NOT_SIGNED)
    if isinstance(e, (_ssl.SSLEOFError, _ssl.SSLZeroReturnError)):
        return OSError(_CONN_EOF, "MBEDTLS_ERR_SSL_CONN_EOF")
    if isinstance(e, _ssl.SSLError):
        if "WRONG_VERSION" in str(e) or "record" in str(e).lower():  # not TLS at all
            return OSError(_INVALID_RECORD, "MBEDTLS_ERR_SSL_INVALID_RECORD")
        return OSError(_FATAL_ALERT, "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE")
    return e  # a plain OSError (reset, timeout) stays what it is


class SSLSocket:
    def __init__(self, sslsock, handshake_done):
        self._s = sslsock
        self._rfile = None
        self._handshake_done = handshake_done

    def _handshake(self):
        if not self._handshake_done:
            try:
                self._s.do_handshake()
            except OSError as e:
                raise _mbedtls_error(e) from None
            self._handshake_done = True

    def _file(self):
        self._handshake()
        if self._rfile is None:
            self._rfile = self._s.makefile("rb")
        return self._rfile

    def write(self, data):
        self._handshake()
        if isinstance(data, str):
            data = data.encode()
        try:
            self._s.sendall(data)
        except OSError as e:
            raise _mbedtls_error(e) from None
        return len(data)

    def read(self, n=-1):
        try:
            f = self._file()
            return f.read() if n is None or n < 0 else f.read(n)
        except OSError as e:
            raise _mbedtls_error(e) from None

    def readinto(self, buf):
        try:
            return self._file().readinto(buf)
        except OSError as e:
            raise _mbedtls_error(e) from None

    def readline(self):
        try:
            return self._file().readline()
        except OSError as e:
            raise _mbedtls_error(e) from None

    def setblocking(self, flag):
        self._s.setblocking(flag)

    def fileno(self):
        # MicroPython's select.poll() watches a TLS socket through its stream ioctl; CPython's
        # poll needs a descriptor: this is that, not a socket method the library may call
        return self._s.fileno()

    def close(self):
        if self._rfile is not None:
            self._rfile.close()
        self._s.close()


class SSLContext:
    def __init__(self, protocol):
        if protocol not in (PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError("invalid protocol")
        self._protocol = protocol
        self.verify_mode = CERT_REQUIRED if protocol == PROTOCOL_TLS_CLIENT else CERT_NONE
        self._cadata = None
        self._chain = None

    def load_verify_locations(self, cadata, /):
        if not isinstance(cadata, (bytes, bytearray)):
            raise TypeError("object with buffer protocol required")
        self._cadata = bytes(cadata)

    def load_cert_chain(self, certfile, keyfile, /):
        self._chain = (certfile, keyfile)

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    server_hostname=None):
        if server_side:
            raise OSError(-0x7080, "MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE")
        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        if self.verify_mode == CERT_NONE:
            ctx.check_hostname = False
            ctx.verify_mode = _ssl.CERT_NONE
        else:
            if self._cadata is None:
                # mbedTLS with CERT_REQUIRED and no CA fails every handshake
                raise ValueError(_NOT_SIGNED)
            data = self._cadata
            if data.lstrip()[:5] == b"-----":
                ctx.load_verify_locations(cadata=data.decode())
            else:
                ctx.load_verify_locations(cadata=data)
            ctx.check_hostname = server_hostname is not None
        try:
            s = ctx.wrap_socket(sock, server_hostname=server_hostname,
                                do_handshake_on_connect=False)
        except OSError as e:
            raise _mbedtls_error(e) from None
        wrapped = SSLSocket(s, False)
        if do_handshake_on_connect:
            wrapped._handshake()
        return wrapped
