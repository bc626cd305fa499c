"""A run's cleanup finishes whatever the database is going through, and keeps the audit trail.

It used to be one transaction: under the load a stress run leaves behind it waited for SQLite's
write lock past its timeout and answered 500, leaving the run's data in the database. Now it goes
in batches of short transactions, retries a busy batch, and says when it is not done yet.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa
from database_locks import sqlite_write_lock
from run_data import NONE_LEFT, create_run_data, tagged_rows

from platform_accounts import Account, register
from platform_server import running_platform


def test_one_row_per_batch_still_deletes_the_whole_run(tmp_path: Path) -> None:
    env = {"PLATFORM_CLEANUP_BATCH_ROWS": "1"}
    with (
        running_platform(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        data = create_run_data(http, register(http))
        engine = sa.create_engine(server.database_url)
        try:
            before = tagged_rows(engine, data.run_id)
            response = http.delete(
                f"/api/v1/admin/test-runs/{data.run_id}", headers=server.admin_headers()
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["complete"] is True
            assert body["deleted"]["users"] == 1
            assert body["deleted"]["workspaces"] == 2
            assert body["deleted"]["documents"] == 3
            # One row per batch, and a last batch that found nothing.
            assert body["batches"] == sum(body["deleted"].values()) + 1
            assert tagged_rows(engine, data.run_id) == {
                **NONE_LEFT,
                "audit_logs": before["audit_logs"],
            }
        finally:
            engine.dispose()


def test_a_busy_database_is_waited_out_not_failed(tmp_path: Path) -> None:
    env = {
        "PLATFORM_WRITE_WAIT_S": "0.2",
        "PLATFORM_SQLITE_BUSY_TIMEOUT_S": "0.2",
        "PLATFORM_CLEANUP_BUDGET_S": "1",
        "PLATFORM_WORKER_ENABLED": "false",
    }
    with (
        running_platform(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        data = create_run_data(http, register(http))
        url = f"/api/v1/admin/test-runs/{data.run_id}"
        with sqlite_write_lock(server.database_url):
            busy = http.delete(url, headers=server.admin_headers())
        assert busy.status_code == 200, busy.text
        body = busy.json()
        assert body["complete"] is False
        assert body["retries"] >= 1
        assert not any(body["deleted"].values())

        done = http.delete(url, headers=server.admin_headers())
        assert done.status_code == 200, done.text
        assert done.json()["complete"] is True
        assert done.json()["deleted"]["workspaces"] == 2
        assert "Traceback" not in server.log()


def test_a_members_tagged_actions_stay_in_the_audit_trail(
    client: httpx.Client, member: Account, admin: Account
) -> None:
    """Tagging one's own requests with a run id no longer erases one's trail at its cleanup."""
    run_id = "erase-me-" + member.id[:8]
    tagged = {**member.headers, "X-Load-Test-Run": run_id}
    created = client.post("/api/v1/workspaces", json={"name": "tagged"}, headers=tagged)
    assert created.status_code == 201, created.text
    workspace_id = created.json()["id"]

    response = admin.delete(f"/api/v1/admin/test-runs/{run_id}")
    assert response.status_code == 200, response.text
    assert response.json()["deleted"]["workspaces"] == 1
    assert response.json()["kept"] == {"audit_logs": 1}
    trail = admin.get(
        "/api/v1/admin/audit-logs", params={"actor_id": member.id, "test_run_id": run_id}
    ).json()["items"]
    assert [(row["action"], row["target_id"]) for row in trail] == [
        ("workspace.create", workspace_id)
    ]
