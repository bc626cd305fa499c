"""A burst of simultaneous writers on SQLite: every write route answers, none with a 500.

60 writers at once is more than AnyIO's 40 worker threads: the platform used to deadlock there
(each waiter held a thread while the write lock's holder needed one more to finish), and answer
500 "database is locked" after 30 s. A writer may be refused with 503 and Retry-After when the
lock is busy for too long; nothing else is allowed. Every route that writes is here (the heavy
POSTs write nothing: they take read sessions); the statuses are asserted, never the time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from database_locks import sqlite_write_lock

from platform_accounts import Account, register
from platform_server import NO_FAULTS, PlatformServer, running_platform

WRITERS = 60
STEPS = [{"type": "transform", "name": "shout", "operation": "uppercase"}]
# The rate limiter is not what is under test: the admin's key alone sends ~250 writes here.
UNLIMITED = {"PLATFORM_RATE_LIMIT_PER_S": "100000", "PLATFORM_RATE_LIMIT_BURST": "100000"}
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformServer]:
    with running_platform(tmp_path_factory.mktemp("sqlite-writers"), env=UNLIMITED) as server:
        yield server


@pytest.fixture(scope="module")
def http(sqlite_server: PlatformServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sqlite_server.base_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def owner(http: httpx.Client) -> Account:
    return register(http)


@pytest.fixture(scope="module")
def admin(http: httpx.Client, sqlite_server: PlatformServer) -> Account:
    response = http.get("/api/v1/auth/me", headers=sqlite_server.admin_headers())
    assert response.status_code == 200, response.text
    return Account(http, response.json(), sqlite_server.admin_key)


def burst(server: PlatformServer, send: Send, account: Account | None) -> list[httpx.Response]:
    """`WRITERS` requests made by `send(client, i)`, all sent before any answer is read."""
    headers = account.headers if account else {}

    async def all_at_once() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=120, limits=limits, headers=headers
        ) as client:
            return list(await asyncio.gather(*(send(client, i) for i in range(WRITERS))))

    return asyncio.run(all_at_once())


def calls(
    method: str, url: str | Callable[[int], str], body: Callable[[int], Any] | None = None
) -> Send:
    """The i-th writer's request: `url` and `body` may depend on i (a resource of its own)."""

    def send(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        target = url if isinstance(url, str) else url(i)
        return client.request(method, target, json=None if body is None else body(i))

    return send


def assert_answered(responses: list[httpx.Response], created: int) -> None:
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {created, 503}, statuses
    assert statuses[created] >= 1, statuses  # the first writer never waits
    for refused in (r for r in responses if r.status_code == 503):
        assert refused.headers["retry-after"] == "1", refused.text
        assert refused.json()["error"]["code"] == "unavailable", refused.text


def created(account: Account, url: str, body: dict[str, Any], run: str | None = None) -> str:
    tag = {"X-Load-Test-Run": run} if run else {}
    response = account.client.post(url, json=body, headers={**account.headers, **tag})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_burst_of_sign_ups(sqlite_server: PlatformServer) -> None:
    def body(i: int) -> dict[str, Any]:
        return {"email": f"burst-{i}-{uuid.uuid4().hex[:8]}@example.com", "name": "Burst"}

    assert_answered(burst(sqlite_server, calls("POST", "/api/v1/auth/register", body), None), 201)
    assert "database is locked" not in sqlite_server.log()


def test_a_burst_of_workspaces(sqlite_server: PlatformServer, owner: Account) -> None:
    send = calls("POST", "/api/v1/workspaces", lambda i: {"name": f"w{i}"})
    assert_answered(burst(sqlite_server, send, owner), 201)


def test_a_burst_of_workspace_updates(sqlite_server: PlatformServer, owner: Account) -> None:
    url = f"/api/v1/workspaces/{created(owner, '/api/v1/workspaces', {'name': 'one'})}"
    send = calls("PATCH", url, lambda i: {"description": f"edit {i}"})
    assert_answered(burst(sqlite_server, send, owner), 200)


def test_a_burst_of_workspace_deletions(sqlite_server: PlatformServer, owner: Account) -> None:
    ids = [created(owner, "/api/v1/workspaces", {"name": f"gone{i}"}) for i in range(WRITERS)]
    send = calls("DELETE", lambda i: f"/api/v1/workspaces/{ids[i]}")
    assert_answered(burst(sqlite_server, send, owner), 204)


def test_a_burst_of_workflows(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = created(owner, "/api/v1/workspaces", {"name": "flows"})
    url = f"/api/v1/workspaces/{workspace}/workflows"
    send = calls("POST", url, lambda i: {"name": f"f{i}", "steps": STEPS})
    assert_answered(burst(sqlite_server, send, owner), 201)


def test_a_burst_of_workflow_updates(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = created(owner, "/api/v1/workspaces", {"name": "edits"})
    flows = f"/api/v1/workspaces/{workspace}/workflows"
    url = f"/api/v1/workflows/{created(owner, flows, {'name': 'wf', 'steps': STEPS})}"
    send = calls("PATCH", url, lambda i: {"name": f"wf{i}"})
    assert_answered(burst(sqlite_server, send, owner), 200)


def test_a_burst_of_workflow_deletions(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = created(owner, "/api/v1/workspaces", {"name": "deletions"})
    flows = f"/api/v1/workspaces/{workspace}/workflows"
    ids = [created(owner, flows, {"name": f"wf{i}", "steps": STEPS}) for i in range(WRITERS)]
    send = calls("DELETE", lambda i: f"/api/v1/workflows/{ids[i]}")
    assert_answered(burst(sqlite_server, send, owner), 204)


def test_a_burst_of_documents(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = created(owner, "/api/v1/workspaces", {"name": "docs"})
    url = f"/api/v1/workspaces/{workspace}/documents"

    def body(i: int) -> dict[str, Any]:
        return {"title": f"d{i}", "content": f"burst document number {i}", "tags": ["burst"]}

    assert_answered(burst(sqlite_server, calls("POST", url, body), owner), 201)


def test_a_burst_of_executions(sqlite_server: PlatformServer, owner: Account) -> None:
    workspace = created(owner, "/api/v1/workspaces", {"name": "runs"})
    flows = f"/api/v1/workspaces/{workspace}/workflows"
    url = f"/api/v1/workflows/{created(owner, flows, {'name': 'wf', 'steps': STEPS})}/executions"
    send = calls("POST", url, lambda i: {"input": {"text": f"run {i}"}})
    assert_answered(burst(sqlite_server, send, owner), 202)


def test_a_burst_of_admin_sign_ups(sqlite_server: PlatformServer, admin: Account) -> None:
    def body(i: int) -> dict[str, Any]:
        return {"email": f"made-{i}-{uuid.uuid4().hex[:8]}@example.com", "name": "Made"}

    assert_answered(burst(sqlite_server, calls("POST", "/api/v1/admin/users", body), admin), 201)


def test_a_burst_of_account_updates(
    sqlite_server: PlatformServer, http: httpx.Client, admin: Account
) -> None:
    url = f"/api/v1/admin/users/{register(http).id}"
    send = calls("PATCH", url, lambda i: {"role": ("member", "admin")[i % 2]})
    assert_answered(burst(sqlite_server, send, admin), 200)


def test_a_burst_of_fault_settings(sqlite_server: PlatformServer, admin: Account) -> None:
    send = calls("PUT", "/api/v1/admin/faults", lambda i: NO_FAULTS)
    assert_answered(burst(sqlite_server, send, admin), 200)


def test_a_burst_of_test_run_cleanups(
    sqlite_server: PlatformServer, owner: Account, admin: Account
) -> None:
    runs = [f"burst-run-{i}-{uuid.uuid4().hex[:6]}" for i in range(WRITERS)]
    for run in runs:
        created(owner, "/api/v1/workspaces", {"name": run}, run=run)
    send = calls("DELETE", lambda i: f"/api/v1/admin/test-runs/{runs[i]}")
    responses = burst(sqlite_server, send, admin)
    assert_answered(responses, 200)
    done = [r.json() for r in responses if r.status_code == 200]
    assert all(answer["deleted"]["workspaces"] == 1 for answer in done), done


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
