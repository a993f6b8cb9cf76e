"""Host-only stand-in for the firmware's `urequests` (micropython-lib `requests`), on CPython
sockets. It behaves as the firmware does where the library depends on it:

- a generator `data` with an exact-case "Content-Length" header is written as-is; without that
  header it is sent chunked; a str/bytes body gets its length computed;
- headers are written in the dict's order, then `Connection: close` unless given;
- HTTPS never verifies certificates (the firmware sets CERT_NONE);
- only an OSError closes the socket before re-raising, as on the firmware;
- `parse_headers` may be True, False or a callable(line, headers) given each raw header line;
- redirects (301/302/303/307/308 with Location) are followed;
- released firmware recognises `Transfer-Encoding:` and `Location:` in exact case only.

Two firmware generations differ in the reply, selected by the module attribute FLAVOUR:
"1.0" (released firmware up to 1.28: requests HTTP/1.0, raises ValueError on a chunked reply)
and "1.1" (requests 1.1: requests HTTP/1.1 and passes a chunked body through `.raw` as sent).
"""

import socket
import ssl

FLAVOUR = "1.0"


class _SockFile:
    """The firmware socket's stream surface: write(), read(n), readline(), close()."""

    def __init__(self, sock):
        self._sock = sock
        self._rfile = sock.makefile("rb")

    def write(self, data):
        if type(data) is str:
            data = data.encode()
        self._sock.sendall(data)

    def read(self, n=-1):
        return self._rfile.read() if n is None or n < 0 else self._rfile.read(n)

    def readline(self):
        return self._rfile.readline()

    def close(self):
        self._rfile.close()
        self._sock.close()


class Response:
    def __init__(self, raw):
        self.raw = raw
        self.encoding = "utf-8"
        self._cached = None
        self.status_code = None
        self.reason = ""
        self.headers = {}

    def close(self):
        if self.raw:
            self.raw.close()
            self.raw = None
        self._cached = None

    @property
    def content(self):
        if self._cached is None:
            try:
                self._cached = self.raw.read()
            finally:
                self.raw.close()
                self.raw = None
        return self._cached

    @property
    def text(self):
        return str(self.content, self.encoding)

    def json(self):
        import json

        return json.loads(self.content)


def _is_stream(data):
    return hasattr(data, "__next__") and not hasattr(data, "__len__")


def request(method, url, data=None, json=None, headers=None, stream=None, auth=None,
            timeout=None, parse_headers=True):
    headers = {} if headers is None else headers
    scheme, _, rest = url.partition("//")
    host, _, path = rest.partition("/")
    if scheme == "http:":
        port = 80
    elif scheme == "https:":
        port = 443
    else:
        raise ValueError("Unsupported protocol: " + scheme)
    if ":" in host:
        host, port_text = host.split(":", 1)
        port = int(port_text)
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    if timeout is not None:
        sock.settimeout(timeout)
    found = {} if parse_headers is not False else None
    redirect = None
    try:
        sock.connect(addr)
        if scheme == "https:":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=host)
        s = _SockFile(sock)
        version = "HTTP/1.1" if FLAVOUR == "1.1" else "HTTP/1.0"
        s.write(method.encode() + b" /" + path.encode() + b" " + version.encode() + b"\r\n")
        headers.setdefault("Host", host)
        if json is not None:
            import json as _json

            data = _json.dumps(json)
            headers.setdefault("Content-Type", "application/json")
        streamed = bool(data) and _is_stream(data)
        if data:
            if streamed:
                if "Transfer-Encoding" not in headers and "Content-Length" not in headers:
                    headers["Transfer-Encoding"] = "chunked"
            elif "Content-Length" not in headers:
                headers["Content-Length"] = str(len(data))
        headers.setdefault("Connection", "close")
        for key in headers:
            s.write(key)
            s.write(b": ")
            s.write(headers[key])
            s.write(b"\r\n")
        s.write(b"\r\n")
        if data:
            if streamed and headers.get("Transfer-Encoding") == "chunked":
                for chunk in data:
                    s.write(b"%x\r\n" % len(chunk))
                    s.write(chunk)
                    s.write(b"\r\n")
                s.write(b"0\r\n\r\n")
            elif streamed:
                for chunk in data:
                    s.write(chunk)
            else:
                s.write(data)
        parts = s.readline().split(None, 2)
        if len(parts) < 2:
            raise ValueError("HTTP error: BadStatusLine:\n%s" % parts)
        status = int(parts[1])
        reason = parts[2].rstrip() if len(parts) > 2 else ""
        while True:
            line = s.readline()
            if not line or line == b"\r\n":
                break
            # released firmware matches these two headers in exact case only; requests 1.1
            # compares names case-insensitively
            named = line if FLAVOUR != "1.1" else line.title()
            if named.startswith(b"Transfer-Encoding:") and b"chunked" in line.lower():
                if FLAVOUR != "1.1":
                    raise ValueError("Unsupported " + line.decode())
            elif named.startswith(b"Location:") and not 200 <= status <= 299:
                if status in (301, 302, 303, 307, 308):
                    redirect = line[9:].strip().decode()
                else:
                    raise NotImplementedError("Redirect %d not yet supported" % status)
            if parse_headers is True:
                key, value = line.decode().split(":", 1)
                found[key] = value.strip()
            elif parse_headers is not False:
                parse_headers(line, found)
    except OSError:
        sock.close()
        raise
    if redirect:
        s.close()
        if status in (301, 302, 303):
            return request("GET", redirect, None, None, headers, stream)
        return request(method, redirect, data, json, headers, stream)
    resp = Response(s)
    resp.status_code = status
    resp.reason = reason
    if found is not None:
        resp.headers = found
    return resp


def head(url, **kw):
    return request("HEAD", url, **kw)


def get(url, **kw):
    return request("GET", url, **kw)


def post(url, **kw):
    return request("POST", url, **kw)


def put(url, **kw):
    return request("PUT", url, **kw)


def patch(url, **kw):
    return request("PATCH", url, **kw)


def delete(url, **kw):
    return request("DELETE", url, **kw)
