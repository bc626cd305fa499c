"""Workflows and executions through the API, for the tests that need them (a plain module:
test modules do not import each other)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from platform_accounts import Account
from waiting import wait_for

FINAL = ("succeeded", "failed")


def new_workflow(account: Account, steps: list[dict[str, Any]]) -> tuple[str, str]:
    workspace = account.post("/api/v1/workspaces", json={"name": "runs"}).json()
    created = account.post(
        f"/api/v1/workspaces/{workspace['id']}/workflows", json={"name": "wf", "steps": steps}
    )
    assert created.status_code == 201, created.text
    return str(workspace["id"]), str(created.json()["id"])


def run(account: Account, workflow_id: str, text_in: str = "", **headers: str) -> str:
    response = account.client.post(
        f"/api/v1/workflows/{workflow_id}/executions",
        json={"input": {"text": text_in}},
        headers={**account.headers, **headers},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"] == f"/api/v1/executions/{body['id']}"
    return str(body["id"])


def wait_final(account: Account, execution_id: str, timeout_s: float = 30) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        execution: dict[str, Any] = account.get(f"/api/v1/executions/{execution_id}").json()
        return execution if execution["status"] in FINAL else None

    return wait_for(final, timeout_s, f"execution {execution_id} to finish")


def query(database_url: str, sql: str, **params: Any) -> list[Any]:
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


def wait_status(account: Account, execution_id: str, status: str, timeout_s: float = 15) -> None:
    def reached() -> bool:
        return bool(account.get(f"/api/v1/executions/{execution_id}").json()["status"] == status)

    wait_for(reached, timeout_s, f"execution {execution_id} to reach {status}")
