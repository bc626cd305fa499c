"""A burst of simultaneous writers on SQLite: every write route answers, none with a 500.

60 writers at once is more than AnyIO's 40 worker threads: the platform used to deadlock there
(each waiter held a thread while the write lock's holder needed one more to finish), and answer
500 "database is locked" after 30 s. A writer may be refused with 503 and Retry-After when the
lock is busy for too long; nothing else is allowed. The statuses are asserted, never the time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from database_locks import sqlite_write_lock

from platform_accounts import Account, register
from platform_server import PlatformServer, running_platform

WRITERS = 60
STEPS = [{"type": "transform", "name": "shout", "operation": "uppercase"}]


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformServer]:
    with running_platform(tmp_path_factory.mktemp("sqlite-writers")) as server:
        yield server


@pytest.fixture(scope="module")
def owner(sqlite_server: PlatformServer) -> Iterator[Account]:
    with httpx.Client(base_url=sqlite_server.base_url, timeout=60) as http:
        yield register(http)


def burst(
    server: PlatformServer, url: str, body: Callable[[int], dict[str, Any]], account: Account | None
) -> list[httpx.Response]:
    """`WRITERS` POSTs to `url`, all sent before any answer is read."""
    headers = account.headers if account else {}

    async def all_at_once() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=120, limits=limits, headers=headers
        ) as http:
            return list(
                await asyncio.gather(*(http.post(url, json=body(i)) for i in range(WRITERS)))
            )

    return asyncio.run(all_at_once())


def assert_answered(responses: list[httpx.Response], created: int) -> None:
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {created, 503}, statuses
    assert statuses[created] >= 1, statuses  # the first writer never waits
    for refused in (r for r in responses if r.status_code == 503):
        assert refused.headers["retry-after"] == "1", refused.text
        assert refused.json()["error"]["code"] == "unavailable", refused.text


def test_a_burst_of_sign_ups(sqlite_server: PlatformServer) -> None:
    def body(i: int) -> dict[str, Any]:
        return {"email": f"burst-{i}-{uuid.uuid4().hex[:8]}@example.com", "name": "Burst"}

    assert_answered(burst(sqlite_server, "/api/v1/auth/register", body, None), 201)
    assert "database is locked" not in sqlite_server.log()


def test_a_burst_of_workspaces(sqlite_server: PlatformServer, owner: Account) -> None:
    responses = burst(sqlite_server, "/api/v1/workspaces", lambda i: {"name": f"w{i}"}, owner)
    assert_answered(responses, 201)


def test_a_burst_of_workflows(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = owner.post("/api/v1/workspaces", json={"name": "flows"}).json()["id"]
    url = f"/api/v1/workspaces/{workspace}/workflows"
    responses = burst(sqlite_server, url, lambda i: {"name": f"f{i}", "steps": STEPS}, owner)
    assert_answered(responses, 201)


def test_a_burst_of_documents(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = owner.post("/api/v1/workspaces", json={"name": "docs"}).json()["id"]
    url = f"/api/v1/workspaces/{workspace}/documents"

    def body(i: int) -> dict[str, Any]:
        return {"title": f"d{i}", "content": f"burst document number {i}", "tags": ["burst"]}

    assert_answered(burst(sqlite_server, url, body, owner), 201)


def test_a_burst_of_executions(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = owner.post("/api/v1/workspaces", json={"name": "runs"}).json()["id"]
    workflow = owner.post(
        f"/api/v1/workspaces/{workspace}/workflows",
        json={"name": "wf", "steps": STEPS},
    )
    assert workflow.status_code == 201, workflow.text
    url = f"/api/v1/workflows/{workflow.json()['id']}/executions"
    responses = burst(sqlite_server, url, lambda i: {"input": {"text": f"run {i}"}}, owner)
    assert_answered(responses, 202)


def test_a_writer_refused_in_time_gets_503_with_retry_after(tmp_path: Path) -> None:
    """A writer that cannot get the write lock within PLATFORM_WRITE_WAIT_S: 503, not 500."""
    env = {"PLATFORM_WRITE_WAIT_S": "0.5", "PLATFORM_SQLITE_BUSY_TIMEOUT_S": "0.5"}
    with (
        running_platform(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        member = register(http)
        with sqlite_write_lock(server.database_url):
            refused = member.post("/api/v1/workspaces", json={"name": "late"})
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert member.post("/api/v1/workspaces", json={"name": "later"}).status_code == 201
