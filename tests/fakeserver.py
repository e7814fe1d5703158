"""A tiny misbehaving HTTP server on loopback, driven by a function: for testing the real client over real
sockets (issue 14)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeServer:
    """``handler(method, path, query, body) -> (status, body)``; body a dict/list (JSON), bytes, or a generator
    of bytes (streamed slowly, chunk by chunk). Records requests and the most requests ever in flight."""

    def __init__(self, handler):
        self.handler = handler
        self.requests: list[tuple[str, str, dict]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _do(self):
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with outer._lock:
                    outer.requests.append((self.command, parts.path, query))
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    status, payload = outer.handler(self.command, parts.path, query, body)
                    if isinstance(payload, dict | list):
                        payload = json.dumps(payload).encode()
                    if isinstance(payload, bytes):
                        self.send_response(status)
                        self.send_header("content-type", "application/json")
                        self.send_header("content-length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                    else:  # a generator: trickle it
                        self.send_response(status)
                        self.send_header("content-type", "application/json")
                        self.send_header("connection", "close")
                        self.end_headers()
                        for chunk in payload:
                            self.wfile.write(chunk)
                            self.wfile.flush()
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            do_GET = do_POST = do_DELETE = do_PATCH = _do

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # a client that hangs up (a deadline hit) is expected
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def lists(self):
        return [r for r in self.requests if r[0] == "GET" and r[1] == "/v2/replicas"]


def replicas(n, prefix="r"):
    return [{"replica_id": f"{prefix}{i:05d}", "replica_name": f"n{i}", "status": "completed",
             "replica_type": "user"} for i in range(n)]


def paged(items, *, max_page=100, total=None):
    """A handler serving ``items`` in pages, with ``total`` (default: the true count) as total_count."""
    def handler(method, path, query, body):
        size = min(int(query.get("limit", 10)), max_page)
        page = int(query.get("page", 1))
        return 200, {"data": items[(page - 1) * size: page * size],
                     "total_count": len(items) if total is None else total}
    return handler


def trickle(data: bytes, every: float):
    def gen():
        for i in range(len(data)):
            time.sleep(every)
            yield data[i:i + 1]
    return gen()
