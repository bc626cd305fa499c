"""Bursts of simultaneous writers on SQLite: statuses and the longest wait, per write route.

Issue 11's goal: 60 simultaneous writers of every write route on SQLite all succeed (or get 503
with Retry-After), none waits more than 5 s, none gets a 500. The test suite asserts the statuses
(tests/platform/test_sqlite_writers.py); the waits depend on the machine, so they are measured
here, never asserted.

The platform runs as `platform-api serve --workers 1` on a fresh SQLite file with the default
settings, but for the rate limits (raised out of reach: the admin's key alone sends over 700
writes). Each write route gets `--bursts` bursts of `--writers` requests sent at once (one
connection each); what a burst's requests need (the workspaces it deletes, the runs it cleans
up) is made before it, one request at a time, and not timed. The figures are over every request
of every burst. The heavy POSTs are not here: they write nothing (read sessions).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from platform_server import NO_FAULTS

BIN = Path(sys.executable).parent
STEPS = [{"type": "transform", "name": "shout", "operation": "uppercase"}]
# The i-th writer's path and body (None: no body).
Request = Callable[[int], tuple[str, dict[str, Any] | None]]


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    prepare: Callable[[int], Request]  # called before each burst with the number of writers
    headers: dict[str, str]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def burst(
    base_url: str, method: str, request: Request, headers: dict[str, str], n: int
) -> list[tuple[int | str, float]]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=120, limits=limits, headers=headers
    ) as http:
        requests = [request(i) for i in range(n)]

        async def one(i: int) -> tuple[int | str, float]:
            url, body = requests[i]
            started = time.perf_counter()
            try:
                response = await http.request(method, url, json=body)
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


def _created(http: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    response = http.post(url, json=body, headers=headers)
    response.raise_for_status()
    return str(response.json()["id"])


def _routes(http: httpx.Client, admin: dict[str, str]) -> tuple[list[Route], dict[str, str]]:
    """Every write route, with what its bursts need made on `http`; and the member's headers."""
    signup = http.post("/api/v1/auth/register", json={"email": "bench@example.com", "name": "B"})
    signup.raise_for_status()
    auth = {"Authorization": f"Bearer {signup.json()['api_key']}"}
    workspace = _created(http, "/api/v1/workspaces", {"name": "b"}, auth)
    flows = f"/api/v1/workspaces/{workspace}/workflows"
    workflow = _created(http, flows, {"name": "wf", "steps": STEPS}, auth)
    member = signup.json()["user"]["id"]

    def same(url: str, body: Callable[[int], dict[str, Any] | None]) -> Callable[[int], Request]:
        return lambda n: lambda i: (url, body(i))

    def workspaces(n: int) -> Request:
        ids = [_created(http, "/api/v1/workspaces", {"name": f"gone{i}"}, auth) for i in range(n)]
        return lambda i: (f"/api/v1/workspaces/{ids[i]}", None)

    def workflows(n: int) -> Request:
        body = {"name": "gone", "steps": STEPS}
        ids = [_created(http, flows, body, auth) for _ in range(n)]
        return lambda i: (f"/api/v1/workflows/{ids[i]}", None)

    def runs(n: int) -> Request:
        tags = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(n)]
        for tag in tags:
            _created(http, "/api/v1/workspaces", {"name": tag}, {**auth, "X-Load-Test-Run": tag})
        return lambda i: (f"/api/v1/admin/test-runs/{tags[i]}", None)

    def email(i: int) -> dict[str, Any]:
        return {"email": f"b{uuid.uuid4().hex[:12]}@example.com", "name": "B"}

    routes = [
        Route("sign-ups", "POST", same("/api/v1/auth/register", email), {}),
        Route("workspaces", "POST", same("/api/v1/workspaces", lambda i: {"name": f"w{i}"}), auth),
        Route(
            "workspace updates",
            "PATCH",
            same(f"/api/v1/workspaces/{workspace}", lambda i: {"description": f"edit {i}"}),
            auth,
        ),
        Route("workspace deletions", "DELETE", workspaces, auth),
        Route("workflows", "POST", same(flows, lambda i: {"name": f"f{i}", "steps": STEPS}), auth),
        Route(
            "workflow updates",
            "PATCH",
            same(f"/api/v1/workflows/{workflow}", lambda i: {"name": f"wf{i}"}),
            auth,
        ),
        Route("workflow deletions", "DELETE", workflows, auth),
        Route(
            "documents",
            "POST",
            same(
                f"/api/v1/workspaces/{workspace}/documents",
                lambda i: {"title": f"d{i}", "content": f"burst document {i}", "tags": []},
            ),
            auth,
        ),
        Route(
            "executions",
            "POST",
            same(f"/api/v1/workflows/{workflow}/executions", lambda i: {"input": {"text": f"{i}"}}),
            auth,
        ),
        Route("admin sign-ups", "POST", same("/api/v1/admin/users", email), admin),
        Route(
            "account updates",
            "PATCH",
            same(f"/api/v1/admin/users/{member}", lambda i: {"role": "member"}),
            admin,
        ),
        Route("fault settings", "PUT", same("/api/v1/admin/faults", lambda i: NO_FAULTS), admin),
        Route("test-run cleanups", "DELETE", runs, admin),
    ]
    return routes, auth


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
        "PLATFORM_RATE_LIMIT_PER_S": "1000000",
        "PLATFORM_RATE_LIMIT_BURST": "1000000",
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
            routes, auth = _routes(http, {"Authorization": f"Bearer {admin_key}"})
            readers = _Readers(base_url, auth, args.readers)
            print("| route | requests | statuses | p50 s | p95 s | max s |")
            print("|---|---|---|---|---|---|")
            for route in routes:
                results: list[tuple[int | str, float]] = []
                for _ in range(args.bursts):
                    request = route.prepare(args.writers)
                    results += asyncio.run(
                        burst(base_url, route.method, request, route.headers, args.writers)
                    )
                waits = sorted(t for _, t in results)
                statuses = Counter(str(s) for s, _ in results)
                p95 = waits[int(0.95 * (len(waits) - 1))]
                shown = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
                print(
                    f"| {route.name} | {len(results)} | {shown} | {statistics.median(waits):.2f} "
                    f"| {p95:.2f} | {waits[-1]:.2f} |"
                )
            readers.stop()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
