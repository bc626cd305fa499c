"""A tiny HTTP target for end-to-end tests, served from a thread on 127.0.0.1.

It answers every GET with 200 (and /metrics with 404, or with the given Prometheus text), and
remembers the wall-clock time of every request but those to "/" (loadlab's reachability check),
so a test controls the target and knows exactly when the engine's requests arrived. Not a test
module itself.

For the open model's tests it can also be a queue of known capacity: `servers` requests at a
time, each served in `service_s` (the rest wait their turn), so it answers servers / service_s
requests per second, exactly, however busy the machine; and it can stall: every `stall[0]`
seconds, no answer for `stall[1]` seconds.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class TinyTarget:
    url: str
    metrics: str | None = None
    arrivals: list[float] = field(default_factory=list)
    clients: set[str] = field(default_factory=set)  # the addresses requests came from
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)

    def first_request_s(self) -> float:
        with self.lock:
            assert self.arrivals, "the target received no request"
            return min(self.arrivals)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a load generator closing its connections as it stops is no error
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextlib.contextmanager
def tiny_target(
    metrics: str | None = None,
    *,
    servers: int = 0,
    service_s: float = 0.0,
    stall: tuple[float, float] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[TinyTarget]:
    target = TinyTarget(url="", metrics=metrics)
    free_at = [0.0] * servers  # when each server is next free, a heap
    queue = threading.Lock()

    def serve() -> None:
        if stall is not None:
            period_s, stall_s = stall
            phase_s = (time.monotonic() - target.started) % period_s
            if phase_s < stall_s:
                time.sleep(stall_s - phase_s)
        if servers:
            # The queue is kept as arithmetic: each request is done `service_s` after the
            # earliest free server frees up, and the thread sleeps until that moment. A sleep
            # that overshoots (a busy machine) delays that answer, never the ones after it, so
            # the capacity is servers / service_s however busy the machine is.
            with queue:
                start = max(time.monotonic(), heapq.heappop(free_at))
                heapq.heappush(free_at, start + service_s)
            time.sleep(max(0.0, start + service_s - time.monotonic()))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes: without this, Nagle's algorithm holds the
            # body until the client's delayed ACK (40 ms) when requests follow back to back.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                body = (target.metrics or "").encode()
                status = 200 if target.metrics is not None else 404
            else:
                if self.path != "/":  # "/" is loadlab's reachability check, not the suite's load
                    with target.lock:
                        target.arrivals.append(time.time())
                        target.clients.add(self.client_address[0])
                    serve()
                body, status = b"ok", 200
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _Server((host, 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024  # a queue of known capacity queues, never refuses
    target.url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
