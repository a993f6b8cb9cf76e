"""Stand-in for micropython-lib's `requests` (the firmware's `urequests`), one generation at a
time, as ../shared facts give them (read from each version's source, observed on the v1.29 unix
port). Host-side only; it runs on CPython over real sockets and on MicroPython over the fake
socket module a test hands in. It is never more capable than the generation it models:

| generation | request line | chunked reply                                        | header names |
|------------|--------------|------------------------------------------------------|--------------|
| "0.10"     | HTTP/1.0     | ValueError while reading headers, socket NOT closed  | exact case   |
| "1.0"      | HTTP/1.1     | the same                                             | exact case   |
| "1.1"      | HTTP/1.1     | de-chunked: `.raw` is a BodyStream (read, readinto,  | any case     |
|            |              | close only; read(n) returns at most one chunk)       |              |

Common to all: a generator `data` with an exact-case str "Content-Length" header is written
as-is (without that header it is sent chunked); headers go out in the dict's order, then
`Connection: close` unless given; HTTPS never verifies (CERT_NONE); only an OSError closes the
socket before re-raising; `parse_headers` may be True, False or a callable(line, headers) given
each raw header line; redirects (301/302/303/307/308 with Location) are followed.

    import requests                      # this module, where tools/firmware is on the path
    requests.GENERATION = "1.0"          # what the module-level functions model
    r = requests.Requests("0.10", socket=fake_socket_module).request("GET", url)

`LEAKED` lists the sockets a generation left open (0.10/1.0 on a chunked reply), so a test
can see the leak the firmware has.
"""

try:
    import socket as _socket
except ImportError:  # MicroPython on the host without sockets: a test hands one in
    _socket = None

GENERATION = "1.1"  # what micropython-lib 1.1.x is, as frozen in v1.29 firmware
GENERATIONS = ("0.10", "1.0", "1.1")
LEAKED = []


class _SockFile:
    """A CPython socket with the stream methods a MicroPython socket has: write, read(n),
    readinto, readline, close (and nothing else)."""

    def __init__(self, sock):
        self._sock = sock
        self._rfile = sock.makefile("rb")

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        self._sock.sendall(data)
        return len(data)

    def read(self, n=-1):
        return self._rfile.read() if n is None or n < 0 else self._rfile.read(n)

    def readinto(self, buf):
        return self._rfile.readinto(buf)

    def readline(self):
        return self._rfile.readline()

    def close(self):
        self._rfile.close()
        self._sock.close()


class BodyStream:
    """requests 1.1's de-chunked reply body: read(n) (at most one chunk), readinto, close."""

    def __init__(self, sock):
        self._sock = sock
        self._left = 0  # bytes left in the current chunk
        self._done = False

    def _next_chunk(self):
        line = self._sock.readline()
        if not line:
            raise ValueError("Connection closed in chunked body")
        size = int(line.strip().split(b";", 1)[0], 16)
        if size == 0:
            self._sock.readline()
            self._done = True
        self._left = size

    def read(self, n=-1):
        if n is None or n < 0:
            out = b""
            while True:
                data = self.read(4096)
                if not data:
                    return out
                out += data
        if self._done or n == 0:
            return b""
        if not self._left:
            self._next_chunk()
            if self._done:
                return b""
        data = self._sock.read(min(n, self._left))
        if not data:
            raise ValueError("Connection closed in chunked body")
        self._left -= len(data)
        if not self._left:
            self._sock.readline()  # the CRLF after the chunk
        return data

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None


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


def _is_generator(data):
    return hasattr(data, "__next__") and not hasattr(data, "__len__")


def _exact(line, name, any_case):
    if any_case:
        return line[: len(name)].lower() == name.lower()
    return line[: len(name)] == name


class Requests:
    """One generation's `request()`; `socket` and `tls` are the modules it connects with."""

    def __init__(self, generation=None, socket=None, tls=None):
        self.generation = generation
        self.socket = socket
        self.tls = tls

    def request(self, method, url, data=None, json=None, headers=None, stream=None, auth=None,
                timeout=None, parse_headers=True):
        generation = self.generation or GENERATION
        if generation not in GENERATIONS:
            raise RuntimeError("no such requests generation: " + str(generation))
        new = generation == "1.1"
        sockmod = self.socket or _socket
        headers = {} if headers is None else dict(headers)
        parts = url.split("/", 3)
        proto, host = parts[0], parts[2]
        path = parts[3] if len(parts) > 3 else ""
        if proto == "http:":
            port = 80
        elif proto == "https:":
            port = 443
        else:
            raise ValueError("Unsupported protocol: " + proto)
        if ":" in host:
            host, port_text = host.split(":", 1)
            port = int(port_text)
        ai = sockmod.getaddrinfo(host, port, 0, sockmod.SOCK_STREAM)[0]
        sock = sockmod.socket(ai[0], sockmod.SOCK_STREAM, ai[2])
        if timeout is not None:
            sock.settimeout(timeout)
        s = sock
        redirect = None
        found = {}
        try:
            sock.connect(ai[-1])
            if proto == "https:":
                tls = self.tls
                if tls is None:
                    import tls
                ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
                ctx.verify_mode = tls.CERT_NONE
                sock = ctx.wrap_socket(sock, server_hostname=host)
            s = sock if hasattr(sock, "readline") else _SockFile(sock)
            version = "HTTP/1.0" if generation == "0.10" else "HTTP/1.1"
            s.write(method.encode() + b" /" + path.encode() + b" " + version.encode() + b"\r\n")
            if "Host" not in headers:
                headers["Host"] = host
            if json is not None:
                from json import dumps

                data = dumps(json)
                if "Content-Type" not in headers:
                    headers["Content-Type"] = "application/json"
            streamed = bool(data) and _is_generator(data)
            if data:
                if streamed:
                    if "Transfer-Encoding" not in headers and "Content-Length" not in headers:
                        headers["Transfer-Encoding"] = "chunked"
                elif "Content-Length" not in headers:
                    headers["Content-Length"] = str(len(data))
            if "Connection" not in headers:
                headers["Connection"] = "close"
            for key in headers:
                s.write(key)
                s.write(b": ")
                s.write(headers[key])
                s.write(b"\r\n")
            s.write(b"\r\n")
            if data:
                if streamed and headers.get("Transfer-Encoding") == "chunked":
                    for chunk in data:
                        s.write(("%x\r\n" % len(chunk)).encode())
                        s.write(chunk)
                        s.write(b"\r\n")
                    s.write(b"0\r\n\r\n")
                elif streamed:
                    for chunk in data:
                        s.write(chunk)
                else:
                    s.write(data)
            line = s.readline()
            if new and not line:
                raise ValueError("HTTP error: empty status line")
            status_parts = line.split(None, 2)
            if len(status_parts) < 2:
                raise ValueError("HTTP error: BadStatusLine:\n%s" % status_parts)
            status = int(status_parts[1])
            reason = status_parts[2].rstrip() if len(status_parts) > 2 else ""
            chunked = False
            location = None
            while True:
                line = s.readline()
                if not line or line == b"\r\n":
                    break
                if _exact(line, b"Transfer-Encoding:", new) and b"chunked" in line.lower():
                    if not new:
                        # the socket stays open: only an OSError closes it below
                        LEAKED.append(s)
                        raise ValueError("Unsupported " + line.decode())
                    chunked = True
                elif _exact(line, b"Location:", new) and not 200 <= status <= 299:
                    location = line[9:].strip().decode()
                    if not new and status not in (301, 302, 303, 307, 308):
                        raise NotImplementedError("Redirect %d not yet supported" % status)
                if parse_headers is False:
                    continue
                if parse_headers is True:
                    key, value = line.decode().split(":", 1)
                    found[key] = value.strip()
                else:
                    parse_headers(line, found)
            if location:
                if status in (301, 302, 303, 307, 308):
                    redirect = location
                else:
                    raise NotImplementedError("Redirect %d not yet supported" % status)
        except OSError:
            s.close()
            raise
        if redirect:
            s.close()
            headers.pop("Host", None)
            if status in (301, 302, 303):
                return self.request("GET", redirect, None, None, headers, stream)
            return self.request(method, redirect, data, json, headers, stream)
        resp = Response(BodyStream(s) if chunked else s)
        resp.status_code = status
        resp.reason = reason
        if parse_headers is not False:
            resp.headers = found
        return resp


def request(method, url, **kw):
    return Requests().request(method, url, **kw)


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
