"""A load-test run's data on a platform, made through the API and counted in the database (a
plain module: test modules do not import each other)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from platform_accounts import Account

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
