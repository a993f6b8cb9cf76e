"""The loopback HTTP(S) sink the benchmarks send to (tools/bench.py, tools/bench_aio.py): a
process of its own that reads each request's body (Content-Length) and answers 200 with a
small JSON reply. Listens on 127.0.0.1 only and stops by itself."""

import socket
import time

OK = b'{"status":1,"request":"bench"}'


class Sink:
    """A loopback HTTP(S) sink in a process of its own: reads each request's body and
    answers 200 with a small JSON reply. Stops by itself after `max_seconds`."""

    def __init__(self, ssl_context=None, max_seconds=300):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.ssl_context = ssl_context
        self.deadline = time.monotonic() + max_seconds
        import multiprocessing

        self.process = multiprocessing.get_context("fork").Process(target=self.serve,
                                                                   daemon=True)
        self.process.start()

    def close(self):
        self.process.terminate()
        self.process.join(5)
        self.sock.close()

    def serve(self):
        while time.monotonic() < self.deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(10)
                if self.ssl_context is not None:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                f = conn.makefile("rb")
                length = 0
                while True:
                    line = f.readline()
                    if line in (b"\r\n", b""):
                        break
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                while length > 0:
                    got = f.read(min(length, 65536))
                    if not got:
                        break
                    length -= len(got)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(OK)).encode()
                             + b"\r\nConnection: close\r\n\r\n" + OK)
                f.close()
            except OSError:
                pass
            finally:
                conn.close()
        self.sock.close()
