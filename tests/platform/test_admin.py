"""Admin endpoints against the real server: roles, metrics, audit trail, accounts, costs, faults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from platform_accounts import Account, register
from platform_api.models import CostRecord, Execution, Workflow
from platform_server import PlatformServer

ADMIN_READS = [
    "/api/v1/admin/metrics",
    "/api/v1/admin/audit-logs",
    "/api/v1/admin/users",
    "/api/v1/admin/costs",
    "/api/v1/admin/faults",
]


@pytest.fixture
def engine(server: PlatformServer) -> Iterator[sa.Engine]:
    url = server.database_url.replace("postgresql://", "postgresql+psycopg://")
    db = sa.create_engine(url)
    yield db
    db.dispose()


@pytest.mark.parametrize("path", ADMIN_READS, ids=lambda p: p.rsplit("/", 1)[-1])
def test_admin_reads_need_the_admin_role(
    client: httpx.Client, member: Account, admin: Account, path: str
) -> None:
    assert client.get(path).status_code == 401
    forbidden = member.get(path)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"
    assert admin.get(path).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/admin/users"),
        ("PATCH", "/api/v1/admin/users/someone"),
        ("PUT", "/api/v1/admin/faults"),
        ("DELETE", "/api/v1/admin/test-runs/run-1"),
    ],
    ids=["create-user", "update-user", "faults", "test-run"],
)
def test_admin_writes_need_the_admin_role(
    client: httpx.Client, member: Account, method: str, path: str
) -> None:
    assert client.request(method, path, json={}).status_code == 401
    assert client.request(method, path, json={}, headers=member.headers).status_code == 403


def test_metrics_report_counts_pool_and_process(
    server: PlatformServer, member: Account, admin: Account
) -> None:
    member.post("/api/v1/workspaces", json={"name": "counted"})
    body = admin.get("/api/v1/admin/metrics").json()
    assert body["counts"]["users"] >= 2
    assert body["counts"]["workspaces"] >= 1
    assert set(body["counts"]) == {"users", "workspaces", "workflows", "executions", "documents"}
    assert set(body["queue"]) == {"queued", "running"}
    expected_dialect = "sqlite" if server.database_url.startswith("sqlite") else "postgresql"
    assert body["database"]["dialect"] == expected_dialect
    assert body["database"]["pool_size"] >= 1
    assert body["database"]["checked_out"] >= 1  # this request's own connection
    assert body["process"]["rss_bytes"] > 10_000_000
    assert body["process"]["threads"] >= 1
    assert body["process"]["open_fds"] >= 3
    assert body["uptime_s"] > 0


def test_every_write_is_audited_and_filterable(member: Account, admin: Account) -> None:
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    created = member.client.post(
        "/api/v1/workspaces",
        json={"name": "audited"},
        headers={**member.headers, "X-Request-ID": request_id},
    )
    workspace_id = created.json()["id"]
    page = admin.get(
        "/api/v1/admin/audit-logs", params={"actor_id": member.id, "action": "workspace.create"}
    ).json()
    assert [row["target_id"] for row in page["items"]] == [workspace_id]
    row = page["items"][0]
    assert row["request_id"] == request_id
    assert row["target_type"] == "workspace"
    assert row["test_run_id"] is None
    signup = admin.get(
        "/api/v1/admin/audit-logs", params={"actor_id": member.id, "target_type": "user"}
    ).json()
    assert [row["action"] for row in signup["items"]] == ["user.create"]
    future = admin.get("/api/v1/admin/audit-logs", params={"since": "2999-01-01T00:00:00Z"})
    assert future.json()["items"] == []
    backwards = admin.get(
        "/api/v1/admin/audit-logs",
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 200
    assert backwards.json()["items"] == []
    assert admin.get("/api/v1/admin/audit-logs", params={"until": "0.5"}).status_code == 422


def test_audit_logs_page_without_repeats(member: Account, admin: Account) -> None:
    for i in range(5):
        member.post("/api/v1/workspaces", json={"name": f"p{i}"})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"actor_id": member.id, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/api/v1/admin/audit-logs", params=params).json()
        seen.extend(row["id"] for row in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6  # sign-up and five workspaces


def test_admin_creates_promotes_and_disables_an_account(
    client: httpx.Client, admin: Account
) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    created = admin.post("/api/v1/admin/users", json={"email": email, "name": "Ops"})
    assert created.status_code == 201, created.text
    user, key = created.json()["user"], created.json()["api_key"]
    assert user["role"] == "member"
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/admin/users", headers=headers).status_code == 403
    assert admin.post("/api/v1/admin/users", json={"email": email, "name": "x"}).status_code == 409

    promoted = admin.patch(f"/api/v1/admin/users/{user['id']}", json={"role": "admin"})
    assert promoted.json()["role"] == "admin"
    assert client.get("/api/v1/admin/users", headers=headers).status_code == 200

    disabled = admin.patch(f"/api/v1/admin/users/{user['id']}", json={"disabled": True})
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    admin.patch(f"/api/v1/admin/users/{user['id']}", json={"disabled": False})
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200

    listed = admin.get("/api/v1/admin/users", params={"limit": 100}).json()["items"]
    assert user["id"] in {row["id"] for row in listed}
    actions = admin.get(
        "/api/v1/admin/audit-logs", params={"action": "user.update", "actor_id": admin.id}
    ).json()["items"]
    assert user["id"] in {row["target_id"] for row in actions}


def test_a_disabled_members_key_stops_at_once(member: Account, admin: Account) -> None:
    assert member.get("/api/v1/workspaces").status_code == 200
    admin.patch(f"/api/v1/admin/users/{member.id}", json={"disabled": True})
    response = member.get("/api/v1/workspaces")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"disabled": True}, 409),
        ({"role": "member"}, 409),
        ({"role": "owner"}, 422),
        ({"banned": True}, 422),
        ({"disabled": 0}, 422),
    ],
    ids=["disable-self", "demote-self", "unknown-role", "unknown-field", "number-as-bool"],
)
def test_bad_account_changes_are_refused(
    admin: Account, body: dict[str, object], status: int
) -> None:
    assert admin.patch(f"/api/v1/admin/users/{admin.id}", json=body).status_code == status
    assert admin.get("/api/v1/auth/me").json()["role"] == "admin"


def test_unknown_account_is_404(admin: Account) -> None:
    assert admin.patch("/api/v1/admin/users/nobody", json={"disabled": True}).status_code == 404


def add_costs(
    engine: sa.Engine, workspace_id: str, user_id: str, rows: list[tuple[str, int, float]]
) -> None:
    """Cost records at fixed times in 2001, far from anything else the server holds."""
    with Session(engine) as session, session.begin():
        workflow = Workflow(workspace_id=workspace_id, name="costed", steps=[])
        session.add(workflow)
        session.flush()
        for when, tokens, cost in rows:
            execution = Execution(
                workflow_id=workflow.id,
                workspace_id=workspace_id,
                user_id=user_id,
                status="succeeded",
            )
            session.add(execution)
            session.flush()
            session.add(
                CostRecord(
                    execution_id=execution.id,
                    workspace_id=workspace_id,
                    user_id=user_id,
                    model="small",
                    tokens=tokens,
                    cost_usd=cost,
                    created_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
                )
            )


def test_costs_are_grouped_three_ways(
    engine: sa.Engine, member: Account, other_member: Account, admin: Account
) -> None:
    mine = member.post("/api/v1/workspaces", json={"name": "spend"}).json()["id"]
    theirs = other_member.post("/api/v1/workspaces", json={"name": "spend"}).json()["id"]
    add_costs(
        engine,
        mine,
        member.id,
        [("2001-01-01T10:00:00", 1000, 0.5), ("2001-01-02T23:59:00", 500, 0.25)],
    )
    add_costs(engine, theirs, other_member.id, [("2001-01-02T00:01:00", 2000, 1.0)])
    window = {"since": "2001-01-01T00:00:00Z", "until": "2001-02-01T00:00:00Z"}

    def report(group_by: str) -> dict[str, Any]:
        response = admin.get("/api/v1/admin/costs", params={"group_by": group_by, **window})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["group_by"] == group_by
        assert body["total_usd"] == pytest.approx(1.75)
        return body

    by_workspace = report("workspace")["groups"]
    assert by_workspace == [
        {"key": theirs, "cost_usd": 1.0, "tokens": 2000, "executions": 1},
        {"key": mine, "cost_usd": 0.75, "tokens": 1500, "executions": 2},
    ]
    by_user = report("user")["groups"]
    assert [(g["key"], g["executions"]) for g in by_user] == [(other_member.id, 1), (member.id, 2)]
    by_day = report("day")["groups"]
    assert by_day == [
        {"key": "2001-01-01", "cost_usd": 0.5, "tokens": 1000, "executions": 1},
        {"key": "2001-01-02", "cost_usd": 1.25, "tokens": 2500, "executions": 2},
    ]
    first_day = admin.get(
        "/api/v1/admin/costs",
        params={
            "group_by": "day",
            "since": "2001-01-01T00:00:00Z",
            "until": "2001-01-02T00:00:00Z",
        },
    ).json()
    assert first_day["total_usd"] == pytest.approx(0.5)
    assert admin.get("/api/v1/admin/costs", params={"group_by": "month"}).status_code == 422
    assert admin.get("/api/v1/admin/costs", params={"since": "12345"}).status_code == 422


def test_faults_are_read_and_replaced_at_runtime(
    client: httpx.Client, admin: Account, member: Account
) -> None:
    defaults = admin.get("/api/v1/admin/faults").json()
    assert defaults["error_rate"] == 0
    target = f"/api/v1/workspaces/faulted-{uuid.uuid4().hex[:6]}"
    body = {"error_rate": 1.0, "route_pattern": target}
    try:
        replaced = client.put("/api/v1/admin/faults", json=body, headers=admin.headers)
        assert replaced.status_code == 200, replaced.text
        assert admin.get("/api/v1/admin/faults").json()["route_pattern"] == target
        faulted = member.get(target)
        assert faulted.status_code == 500
        assert faulted.json()["error"]["code"] == "injected_fault"
        assert member.get("/api/v1/workspaces").status_code == 200
    finally:
        client.put("/api/v1/admin/faults", json={}, headers=admin.headers)
    assert admin.get("/api/v1/admin/faults").json() == defaults
    assert member.get(target).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"error_rate": 2}, {"route_pattern": "(unclosed"}, {"latency": 5}],
    ids=["rate-over-1", "bad-regex", "unknown-field"],
)
def test_bad_fault_settings_are_422(
    client: httpx.Client, admin: Account, body: dict[str, object]
) -> None:
    response = client.put("/api/v1/admin/faults", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"]


def test_a_new_account_is_not_an_admin(client: httpx.Client) -> None:
    fresh = register(client)
    assert fresh.get("/api/v1/admin/metrics").status_code == 403
