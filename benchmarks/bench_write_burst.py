"""Bursts of simultaneous writers on SQLite: statuses and the longest wait, per write route.

Issue 11's goal: 60 simultaneous writers of every write route on SQLite all succeed (or get 503
with Retry-After), none waits more than 5 s, none gets a 500. The test suite asserts the statuses
(tests/platform/test_sqlite_writers.py); the waits depend on the machine, so they are measured
here, never asserted.

The platform runs as `platform-api serve --workers 1` on a fresh SQLite file with the default
settings. Each route gets `--bursts` bursts of `--writers` POSTs sent at once (one connection
each); the figures are over every request of every burst.

    .venv/bin/python benchmarks/bench_write_burst.py [--writers 60] [--bursts 3]

Prints a Markdown table (copied into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
STEPS = [{"type": "transform", "name": "shout", "operation": "uppercase"}]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def burst(
    base_url: str, url: str, body: Callable[[int], dict[str, Any]], headers: dict[str, str], n: int
) -> list[tuple[int | str, float]]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=120, limits=limits, headers=headers
    ) as http:

        async def one(i: int) -> tuple[int | str, float]:
            started = time.perf_counter()
            try:
                response = await http.post(url, json=body(i))
                return response.status_code, time.perf_counter() - started
            except httpx.HTTPError as exc:
                return type(exc).__name__, time.perf_counter() - started

        return list(await asyncio.gather(*(one(i) for i in range(n))))


class _Readers:
    """Clients reading in a loop on a thread of their own, so that writers meet queued reads."""

    def __init__(self, base_url: str, headers: dict[str, str], n: int) -> None:
        import threading

        self._stop = threading.Event()
        self.statuses: Counter[str] = Counter()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._loop(base_url, headers, n))
        )
        if n:
            self._thread.start()

    async def _loop(self, base_url: str, headers: dict[str, str], n: int) -> None:
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        async with httpx.AsyncClient(
            base_url=base_url, timeout=120, limits=limits, headers=headers
        ) as http:

            async def reader() -> None:
                while not self._stop.is_set():
                    try:
                        response = await http.get("/api/v1/workspaces")
                        self.statuses[str(response.status_code)] += 1
                    except httpx.HTTPError as exc:
                        self.statuses[type(exc).__name__] += 1

            await asyncio.gather(*(reader() for _ in range(n)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=120)
            print(f"\nreads during the bursts: {dict(self.statuses)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=60)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument(
        "--readers",
        type=int,
        default=0,
        help="clients reading GET /api/v1/workspaces in a loop during the bursts",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    port = free_port()
    admin_key = "admin-" + secrets.token_hex(16)
    env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": f"sqlite:///{workdir / 'platform.db'}",
        "PLATFORM_ADMIN_API_KEY": admin_key,
    }
    base_url = f"http://127.0.0.1:{port}"
    with (workdir / "platform.log").open("ab") as log:
        process = subprocess.Popen(
            [str(BIN / "platform-api"), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the platform did not start")
            time.sleep(0.1)
        with httpx.Client(base_url=base_url, timeout=60) as http:
            signup = http.post(
                "/api/v1/auth/register", json={"email": "bench@example.com", "name": "B"}
            ).json()
            auth = {"Authorization": f"Bearer {signup['api_key']}"}
            workspace = http.post("/api/v1/workspaces", json={"name": "b"}, headers=auth).json()
            workflow = http.post(
                f"/api/v1/workspaces/{workspace['id']}/workflows",
                json={"name": "wf", "steps": STEPS},
                headers=auth,
            ).json()
        routes: list[tuple[str, str, Callable[[int], dict[str, Any]], dict[str, str]]] = [
            (
                "sign-ups",
                "/api/v1/auth/register",
                lambda i: {"email": f"b{uuid.uuid4().hex[:12]}@example.com", "name": "B"},
                {},
            ),
            ("workspaces", "/api/v1/workspaces", lambda i: {"name": f"w{i}"}, auth),
            (
                "workflows",
                f"/api/v1/workspaces/{workspace['id']}/workflows",
                lambda i: {"name": f"f{i}", "steps": STEPS},
                auth,
            ),
            (
                "documents",
                f"/api/v1/workspaces/{workspace['id']}/documents",
                lambda i: {"title": f"d{i}", "content": f"burst document {i}", "tags": []},
                auth,
            ),
            (
                "executions",
                f"/api/v1/workflows/{workflow['id']}/executions",
                lambda i: {"input": {"text": f"run {i}"}},
                auth,
            ),
        ]
        readers = _Readers(base_url, auth, args.readers)
        print("| route | requests | statuses | p50 s | p95 s | max s |")
        print("|---|---|---|---|---|---|")
        for name, url, body, headers in routes:
            results: list[tuple[int | str, float]] = []
            for _ in range(args.bursts):
                results += asyncio.run(burst(base_url, url, body, headers, args.writers))
            waits = sorted(t for _, t in results)
            statuses = Counter(str(s) for s, _ in results)
            p95 = waits[int(0.95 * (len(waits) - 1))]
            shown = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
            print(
                f"| {name} | {len(results)} | {shown} | {statistics.median(waits):.2f} "
                f"| {p95:.2f} | {waits[-1]:.2f} |"
            )
        readers.stop()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
