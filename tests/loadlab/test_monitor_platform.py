"""The monitor against the real platform under a few seconds of real load.

Each test starts `platform-api serve` on a free port (tests/platform_server.py), drives it with
httpx from a few threads, and watches it with a Monitor on the same clock, so exact figures
(hit rates, error rates, routes) can be checked against the load that was sent. The leak and
CPU-burn claims are tested through `loadlab run` in test_monitor_cli.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from loadlab.monitor import Monitor, MonitorConfig, MonitorResult, write_samples_csv
from platform_server import PlatformServer, running_platform
from waiting import wait_for


@contextmanager
def load(server: PlatformServer, threads: int) -> Iterator[list[int]]:
    """Requests from `threads` threads until the block ends; yields the per-status counts."""
    statuses: list[int] = []
    stop = threading.Event()
    with httpx.Client(base_url=server.base_url, headers=server.admin_headers(), timeout=30) as c:
        workspace = c.post("/api/v1/workspaces", json={"name": "monitor"}).json()["id"]
        document = {"title": "load", "content": "monitoring the platform under load"}
        assert c.post(f"/api/v1/workspaces/{workspace}/documents", json=document).status_code == 201

    def worker() -> None:
        with httpx.Client(
            base_url=server.base_url, headers=server.admin_headers(), timeout=30
        ) as c:
            while not stop.is_set():
                for path, params in (
                    ("/api/v1/workspaces", {}),
                    (f"/api/v1/workspaces/{workspace}/search", {"q": "platform"}),
                    (f"/api/v1/workspaces/{workspace}", {}),
                ):
                    statuses.append(c.get(path, params=params).status_code)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        for thread in pool:
            thread.join(timeout=30)


def watch(
    server: PlatformServer,
    seconds: float,
    *,
    threads: int = 2,
) -> tuple[MonitorResult, list[str], list[int]]:
    warnings: list[str] = []
    config = MonitorConfig(server.base_url, server.pid)
    clock_start = time.monotonic()
    monitor = Monitor(config, clock_start=clock_start, warn=warnings.append)
    monitor.start()
    try:
        with load(server, threads) as statuses:
            # However busy the machine, the samples cover the whole window before it ends.
            wait_for(lambda: monitor.covered_s >= seconds, seconds + 60, f"{seconds} s of samples")
    finally:
        result = monitor.stop()
    return result, warnings, statuses


def filled(result: MonitorResult, name: str) -> bool:
    return any(row.get(name) is not None for row in result.samples)


def test_a_run_against_the_platform_fills_every_series(tmp_path: Path) -> None:
    with running_platform(tmp_path / "platform") as server:
        result, warnings, statuses = watch(server, 4.2)
    assert warnings == []
    assert result.sources == {"app": "ok", "system": "ok", "database": "ok"}
    assert statuses.count(200) > 20
    assert result.cores == 1  # one uvicorn worker: Python on one core at a time
    expected = [
        "target_cpu_percent", "target_rss_bytes", "target_threads", "target_open_fds",
        "target_disk_read_bytes_per_s", "target_disk_write_bytes_per_s",
        "target_net_sent_bytes_per_s", "target_net_recv_bytes_per_s", "host_cpu_percent",
        "host_memory_used_bytes", "generator_cpu_percent", "server_rps", "server_error_rate",
        "server_p50_ms", "server_p95_ms", "server_p99_ms", "server_in_flight", "db_query_p95_ms",
        "db_pool_size", "db_pool_checked_out", "db_pool_overflow", "db_pool_waiters",
        "db_pool_wait_p95_ms", "db_busy_waits_per_s", "db_lock_waits", "db_deadlocks",
        "cache_hit_rate",
    ]  # fmt: skip
    assert [name for name in expected if not filled(result, name)] == []
    found = result.aggregates(1.0, 4.0)
    # What the server counted matches what the client sent, within the seconds compared.
    assert (found["server_rps"].value or 0) > 5
    assert found["server_error_rate"].value == 0
    assert (found["cache_hit_rate"].value or 0) > 80  # one query, repeated: all but one hit
    assert (found["server_p95"].value or 0) > 0
    assert found["db_query_p95"].value is not None
    assert {r.route for r in result.routes} >= {
        "/api/v1/workspaces",
        "/api/v1/workspaces/{workspace_id}/search",
    }
    rows = write_samples_csv(result, tmp_path / "monitor.csv").read_text().splitlines()
    assert len(rows) == len(result.samples) + 1
