"""The Locust suite's cleanup goes on until the platform's cleanup is complete, through 503s.

After a stress run the platform is busy: its cleanup may answer 503 (the database was busy) or
`complete: false` (its time for one request ran out). A tiny server written for the test plays
that sequence; the suite's own cleanup function runs in a subprocess (importing Locust patches the
interpreter with gevent, so never in the test process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

LOAD_TESTS = Path(__file__).resolve().parents[2] / "load_tests"
ANSWERS: list[tuple[int, dict[str, object]]] = [
    (503, {"error": {"code": "unavailable"}}),
    (200, {"deleted": {"users": 2, "documents": 5}, "kept": {}, "complete": False}),
    (503, {"error": {"code": "unavailable"}}),
    (200, {"deleted": {"users": 1, "documents": 0}, "kept": {"audit_logs": 9}, "complete": True}),
    (200, {"deleted": {"users": 0, "documents": 0}, "kept": {"audit_logs": 9}, "complete": True}),
]
CALL = """
import json, sys
from platform_load.cleanup import delete_test_run
from platform_load.run_settings import RunSettings
settings = RunSettings(run_id="run-1", admin_key="key", api_key="", api_keys=(), cleanup=True,
                       think_scale=1.0, tags=None, exclude_tags=None)
print(json.dumps(delete_test_run(sys.argv[1], settings)))
"""


class _Scripted(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict[str, object]]] = []
    seen: list[str] = []

    def do_DELETE(self) -> None:
        self.seen.append(f"{self.path} {self.headers.get('Authorization')}")
        status, body = self.answers.pop(0) if self.answers else (500, {})
        payload = json.dumps(body).encode()
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted_platform() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"answers": list(ANSWERS), "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_cleanup_asks_again_until_complete(
    scripted_platform: tuple[str, type[_Scripted]],
) -> None:
    base_url, handler = scripted_platform
    result = subprocess.run(
        [sys.executable, "-c", CALL, base_url],
        cwd=LOAD_TESTS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    deleted, kept = json.loads(result.stdout.strip().splitlines()[-1])
    assert deleted == {"users": 3, "documents": 5}
    assert kept == {"audit_logs": 9}
    assert handler.answers == []  # every scripted answer was asked for, the last pass included
    assert handler.seen == ["/api/v1/admin/test-runs/run-1 Bearer key"] * len(ANSWERS)
