"""Test-run hygiene: what a run creates is tagged, and both cleanups remove exactly that."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from run_data import (
    NONE_LEFT,
    assert_untagged_data_intact,
    create_run_data,
    tagged_rows,
)

from platform_accounts import Account, register
from platform_server import BIN, PlatformServer


@pytest.fixture
def engine(server: PlatformServer) -> Iterator[sa.Engine]:
    db = sa.create_engine(server.database_url.replace("postgresql://", "postgresql+psycopg://"))
    yield db
    db.dispose()


def test_delete_endpoint_removes_the_run_and_reports_counts(
    client: httpx.Client, member: Account, admin: Account, engine: sa.Engine
) -> None:
    data = create_run_data(client, member)
    before = tagged_rows(engine, data.run_id)
    assert before["users"] == 1
    assert before["workspaces"] == 2
    assert before["documents"] == 3
    assert before["workflows"] == 2
    assert before["executions"] == 2
    assert before["audit_logs"] >= 9
    # Cache a search that includes the run's document, so the cleanup must drop it.
    search_url = f"/api/v1/workspaces/{data.untagged_workspace}/search"
    assert member.get(search_url, params={"q": "pelican"}).json()["total"] == 2

    response = admin.delete(f"/api/v1/admin/test-runs/{data.run_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == data.run_id
    deleted = body["deleted"]
    assert deleted["users"] == 1
    assert deleted["workspaces"] == 2
    assert deleted["documents"] == 3
    assert deleted["workflows"] == 2
    assert deleted["executions"] == 2
    assert deleted["cost_records"] >= before["cost_records"]
    # Audit rows are not test data: kept, still marked with the run's id.
    assert "audit_logs" not in deleted
    assert body["kept"] == {"audit_logs": before["audit_logs"]}
    assert body["complete"] is True
    assert tagged_rows(engine, data.run_id) == {**NONE_LEFT, "audit_logs": before["audit_logs"]}
    assert data.account.get("/api/v1/auth/me").status_code == 401
    assert_untagged_data_intact(data)

    trail = admin.get(
        "/api/v1/admin/audit-logs", params={"action": "test_run.delete", "actor_id": admin.id}
    ).json()["items"]
    assert data.run_id in {row["target_id"] for row in trail}
    again = admin.delete(f"/api/v1/admin/test-runs/{data.run_id}").json()["deleted"]
    assert set(again.values()) == {0}


def test_cli_cleanup_removes_the_run_and_reports_counts(
    client: httpx.Client, server: PlatformServer, member: Account, engine: sa.Engine
) -> None:
    data = create_run_data(client, member)
    assert tagged_rows(engine, data.run_id)["workspaces"] == 2
    result = subprocess.run(
        [str(BIN / "platform-api"), "cleanup", "--run", data.run_id, "--json"],
        env={**os.environ, "PLATFORM_DATABASE_URL": server.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["run_id"] == data.run_id
    assert report["deleted"]["users"] == 1
    assert report["deleted"]["workspaces"] == 2
    assert report["deleted"]["documents"] == 3
    kept = report["kept"]["audit_logs"]
    assert kept >= 9
    assert tagged_rows(engine, data.run_id) == {**NONE_LEFT, "audit_logs": kept}
    assert data.bystander.get(f"/api/v1/workspaces/{data.untagged_workspace}").status_code == 200


def test_cli_reports_zero_for_an_unknown_run(server: PlatformServer) -> None:
    result = subprocess.run(
        [str(BIN / "platform-api"), "cleanup", "--run", f"never-{uuid.uuid4().hex[:8]}"],
        env={**os.environ, "PLATFORM_DATABASE_URL": server.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "deleted 0 users, 0 workspaces" in result.stdout


def test_cli_refuses_a_bad_run_id(server: PlatformServer) -> None:
    result = subprocess.run(
        [str(BIN / "platform-api"), "cleanup", "--run", "no spaces/allowed"],
        env={**os.environ, "PLATFORM_DATABASE_URL": server.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_header_never_weakens_access(
    client: httpx.Client, member: Account, other_member: Account
) -> None:
    tag = {"X-Load-Test-Run": "run-access"}
    assert client.get("/api/v1/workspaces", headers=tag).status_code == 401
    assert client.get("/api/v1/admin/users", headers={**member.headers, **tag}).status_code == 403
    assert (
        client.delete("/api/v1/admin/test-runs/run-access", headers={**member.headers, **tag})
    ).status_code == 403
    theirs = other_member.post("/api/v1/workspaces", json={"name": "private"}).json()["id"]
    peek = client.get(f"/api/v1/workspaces/{theirs}", headers={**member.headers, **tag})
    assert peek.status_code == 404


@pytest.mark.parametrize(
    "run_id", ["has space", "x" * 65, "semi;colon"], ids=["space", "too-long", "semicolon"]
)
def test_bad_run_ids_are_refused(client: httpx.Client, admin: Account, run_id: str) -> None:
    response = client.get("/api/v1/auth/me", headers={**admin.headers, "X-Load-Test-Run": run_id})
    assert response.status_code == 400
    deleted = admin.delete(f"/api/v1/admin/test-runs/{run_id}")
    assert deleted.status_code in (404, 422)


def test_untagged_requests_are_not_tagged(
    client: httpx.Client, engine: sa.Engine, member: Account
) -> None:
    ws = member.post("/api/v1/workspaces", json={"name": "plain"}).json()["id"]
    with engine.connect() as conn:
        tag = conn.scalar(sa.text("SELECT test_run_id FROM workspaces WHERE id = :id"), {"id": ws})
    assert tag is None
    fresh = register(client)
    assert fresh.get("/api/v1/auth/me").status_code == 200
