"""Test-run hygiene: what a run creates is tagged, and both cleanups remove exactly that."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from platform_accounts import Account, register
from platform_server import BIN, PlatformServer

TAGGED_TABLES = (
    "users",
    "workspaces",
    "workflows",
    "executions",
    "cost_records",
    "documents",
    "audit_logs",
)
NONE_LEFT = dict.fromkeys(TAGGED_TABLES, 0)
STEPS = [
    {"type": "transform", "name": "up", "operation": "uppercase"},
    {"type": "llm", "name": "ask", "model": "small", "prompt": "Say hi", "max_tokens": 16},
]


@pytest.fixture
def engine(server: PlatformServer) -> Iterator[sa.Engine]:
    db = sa.create_engine(server.database_url.replace("postgresql://", "postgresql+psycopg://"))
    yield db
    db.dispose()


def tagged_rows(engine: sa.Engine, run_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: int(
                conn.scalar(
                    sa.text(f"SELECT count(*) FROM {table} WHERE test_run_id = :run"),
                    {"run": run_id},
                )
                or 0
            )
            for table in TAGGED_TABLES
        }


@dataclass
class RunData:
    run_id: str
    account: Account
    workspace_ids: list[str]
    untagged_workspace: str
    bystander: Account


def create_run_data(client: httpx.Client, bystander: Account) -> RunData:
    """A run's account with workspaces, documents, workflows and executions, all via the API.

    A bystander also writes one tagged document into its own untagged workspace: the document
    goes with the run, the workspace stays.
    """
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    tag = {"X-Load-Test-Run": run_id}
    signup = client.post(
        "/api/v1/auth/register",
        json={"email": f"{run_id}@example.com", "name": "Load"},
        headers=tag,
    )
    assert signup.status_code == 201, signup.text
    account = Account(client, signup.json()["user"], signup.json()["api_key"])
    headers = {**account.headers, **tag}
    workspace_ids = []
    for i in range(2):
        ws = client.post("/api/v1/workspaces", json={"name": f"run {i}"}, headers=headers).json()
        workspace_ids.append(ws["id"])
        doc = {"title": f"Runbook {i}", "content": "Restart the pelican gateway."}
        url = f"/api/v1/workspaces/{ws['id']}/documents"
        assert client.post(url, json=doc, headers=headers).status_code == 201
        workflow = client.post(
            f"/api/v1/workspaces/{ws['id']}/workflows",
            json={"name": "wf", "steps": STEPS},
            headers=headers,
        )
        assert workflow.status_code == 201, workflow.text
        execution = client.post(
            f"/api/v1/workflows/{workflow.json()['id']}/executions",
            json={"input": {"text": "hello"}},
            headers=headers,
        )
        assert execution.status_code == 202, execution.text
    untagged = bystander.post("/api/v1/workspaces", json={"name": "keep"}).json()["id"]
    bystander.post(
        f"/api/v1/workspaces/{untagged}/documents",
        json={"title": "Keep me", "content": "The pelican stays."},
    )
    tagged_doc = client.post(
        f"/api/v1/workspaces/{untagged}/documents",
        json={"title": "Run note", "content": "A pelican note from the run."},
        headers={**bystander.headers, **tag},
    )
    assert tagged_doc.status_code == 201
    return RunData(run_id, account, workspace_ids, untagged, bystander)


def assert_untagged_data_intact(data: RunData) -> None:
    assert data.bystander.get("/api/v1/auth/me").status_code == 200
    assert data.bystander.get(f"/api/v1/workspaces/{data.untagged_workspace}").status_code == 200
    found = data.bystander.get(
        f"/api/v1/workspaces/{data.untagged_workspace}/search", params={"q": "pelican"}
    ).json()
    assert [item["title"] for item in found["items"]] == ["Keep me"]


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
