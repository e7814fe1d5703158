"""The simulator's HTTP server: a daemon-threaded server that tracks open connections (so a stop cuts them),
and a handler that routes every method through :meth:`reconciler.sim.simulator.Simulator._handle`.

A connection is served by a thread of its own, as :class:`ThreadingHTTPServer` does, but a thread whose
connection has closed waits for the next one instead of ending: a burst of 100 new connections (a client
reading every page at once) is not 100 thread starts on the accepting thread, each making it wait.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    """Daemon-threaded server that tracks open connections so :meth:`Simulator.stop` can cut them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # socketserver's 5 drops the SYNs of a burst of new connections (1 s stalls)

    def __init__(self, addr: tuple[str, int], sim: Any):
        self.sim = sim
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        self._idle: list[queue.SimpleQueue] = []  # threads waiting for a connection (one slot each)
        self._closing = False
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a waiting thread, else to a new one."""
        with self.sockets_lock:
            slot = self._idle.pop() if self._idle else None
        if slot is not None:
            slot.put((request, client_address))
            return
        threading.Thread(target=self._serve, args=((request, client_address),), daemon=True,
                         name="tavus-simulator-conn").start()

    def _serve(self, job: tuple[Any, Any] | None) -> None:
        while job is not None:
            request, client_address = job
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
            slot: queue.SimpleQueue = queue.SimpleQueue()
            with self.sockets_lock:
                if self._closing:
                    return
                self._idle.append(slot)
            job = slot.get()

    def server_close(self) -> None:
        with self.sockets_lock:
            self._closing = True
            idle, self._idle = self._idle, []
        for slot in idle:
            slot.put(None)
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silence per-connection errors (resets, broken pipes): nothing goes to stderr per request."""

    def close_open_sockets(self) -> None:
        with self.sockets_lock:
            socks = list(self.open_sockets)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Routes every method through :meth:`Simulator._handle`."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # buffered: headers and body leave in one segment (no Nagle / delayed-ACK stalls)
    server: _Server
    server_version = "TavusSimulator/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            with self.server.sockets_lock:
                self.server.open_sockets.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the simulator writes nothing to stderr per request."""

    def _dispatch(self) -> None:
        try:
            self.server.sim._handle(self)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = _dispatch

    def read_body(self) -> bytes:
        """The request body (always consumed, so keep-alive stays in sync); chunked bodies are decoded."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def respond(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
                head: bool = False) -> None:
        """Write a complete response with a correct Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)
        self.wfile.flush()
