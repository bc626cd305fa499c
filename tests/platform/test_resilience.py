"""The platform under stress: kill -9, SIGTERM under load, an exhausted pool, concurrent writers."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from executions_api import new_workflow, run, wait_status
from sqlalchemy import create_engine, text

from platform_accounts import Account, register
from platform_backends import BACKENDS, start
from platform_server import PlatformServer, running_platform
from waiting import wait_for


@contextmanager
def database_write_lock(database_url: str) -> Iterator[None]:
    """Hold the write lock on what every request needs: SQLite's database, PostgreSQL's users."""
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"isolation_level": None})
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield
                finally:
                    connection.exec_driver_sql("ROLLBACK")
        finally:
            engine.dispose()
        return
    with psycopg.connect(database_url) as connection:
        connection.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            connection.rollback()


@pytest.mark.parametrize("backend", BACKENDS)
def test_acknowledged_writes_survive_kill_9(backend: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        first = start(stack, tmp_path, backend, process=True)
        with httpx.Client(base_url=first.base_url, timeout=10) as http:
            member = register(http)
            created = set()
            for index in range(25):
                response = member.post("/api/v1/workspaces", json={"name": f"durable-{index}"})
                assert response.status_code == 201, response.text
                created.add(response.json()["id"])
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)

        with (
            running_platform(tmp_path, database_url=first.database_url) as second,
            httpx.Client(base_url=second.base_url, timeout=10) as http,
        ):
            member.client = http
            found = set()
            for cursor in _pages(member, "/api/v1/workspaces"):
                found.update(cursor)
        assert found == created


def _pages(account: Account, url: str) -> Iterator[list[str]]:
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = account.get(url, params=params).json()
        yield [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    env = {
        "PLATFORM_FAULT_LATENCY_MS": "1500",
        "PLATFORM_FAULT_ROUTE_PATTERN": "/api/v1/auth/me",
        "PLATFORM_WORKER_POLL_INTERVAL_S": "0.05",
    }
    with (
        running_platform(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        member = register(http)
        sleepy = [{"type": "sleep", "name": "nap", "seconds": 5}]
        _, workflow_id = new_workflow(member, sleepy)
        execution_id = run(member, workflow_id)
        wait_status(member, execution_id, "running")

        def slow_request() -> int:
            with httpx.Client(base_url=server.base_url, timeout=30) as own:
                return own.get("/api/v1/auth/me", headers=member.headers).status_code

        futures: list[Future[int]] = [pool.submit(slow_request) for _ in range(8)]
        wait_for(lambda: _in_flight(http) >= 8, 15, "8 requests in flight")
        server.process.send_signal(signal.SIGTERM)
        statuses = [future.result(timeout=30) for future in futures]
        # uvicorn re-raises SIGTERM once it has shut down gracefully.
        assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
        assert "Finished server process" in server.log()

    assert statuses == [200] * 8
    # The interrupted execution went back to the queue instead of staying leased.
    rows = _query(
        server.database_url,
        "SELECT status, lease_owner FROM executions WHERE id = :id",
        id=execution_id,
    )
    assert [(r.status, r.lease_owner) for r in rows] == [("queued", None)]


def _in_flight(http: httpx.Client) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("platform_http_requests_in_flight "):
            # The scrape itself is one of the requests in flight.
            return float(line.split()[1]) - 1
    return 0.0


def _query(database_url: str, sql: str, **params: object) -> list[Any]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_exhausted_pool_answers_503_fast(backend: str, tmp_path: Path) -> None:
    env = {
        "PLATFORM_DB_POOL_SIZE": "1",
        "PLATFORM_DB_MAX_OVERFLOW": "0",
        "PLATFORM_DB_POOL_TIMEOUT_S": "1",
        "PLATFORM_WORKER_ENABLED": "false",
    }
    with ExitStack() as stack:
        server = start(stack, tmp_path, backend, env=env)
        http = stack.enter_context(httpx.Client(base_url=server.base_url, timeout=30))
        member = register(http)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        with database_write_lock(server.database_url):
            # This write takes the only connection and waits for the lock we hold: on SQLite in
            # BEGIN IMMEDIATE (its caller's lookup, a hop before, held the connection only
            # briefly), on PostgreSQL in that lookup, which reads users.
            blocked = pool.submit(_post_workspace, server, member)
            waiting = "busy_waiting" if backend == "sqlite" else "pool_checked_out"
            wait_for(lambda: _gauge(http, waiting) >= 1, 15, "the pool's only connection waiting")
            # Answered while the lock is still held: the pool refused it, nothing waited it out.
            refused = member.get("/api/v1/auth/me")
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "unavailable"
        assert blocked.result(timeout=30) == 201
        assert member.get("/api/v1/auth/me").status_code == 200
        assert _gauge(http, "busy_waiting") == 0


def _post_workspace(server: PlatformServer, member: Account) -> int:
    with httpx.Client(base_url=server.base_url, timeout=30) as own:
        response = own.post("/api/v1/workspaces", json={"name": "w"}, headers=member.headers)
        return response.status_code


def _gauge(http: httpx.Client, name: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(f"platform_db_{name} "):
            return float(line.split()[1])
    return 0.0


def test_concurrent_writers_on_sqlite_never_fail(tmp_path: Path) -> None:
    with (
        running_platform(tmp_path) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        member = register(http)
        start_line = threading.Barrier(40)

        def writer(index: int) -> list[int]:
            start_line.wait(timeout=30)
            with httpx.Client(base_url=server.base_url, timeout=60) as own:
                return [
                    own.post(
                        "/api/v1/workspaces", json={"name": f"c{index}-{k}"}, headers=member.headers
                    ).status_code
                    for k in range(5)
                ]

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = [s for result in pool.map(writer, range(40)) for s in result]
        assert statuses == [201] * 200
        total = sum(len(ids) for ids in _pages(member, "/api/v1/workspaces"))
        assert total == 200
        assert "database is locked" not in server.log()
