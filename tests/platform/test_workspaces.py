"""Health, sign-up and workspaces against the real server."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg

from platform_accounts import Account
from platform_server import postgres_database, require_postgres, running_platform


def test_liveness_and_readiness(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ok", "database": "ok"}


def test_readiness_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    """PostgreSQL only: a database can be dropped under a running server (SQLite's open file
    outlives its removal)."""
    with (
        postgres_database() as database_url,
        running_platform(tmp_path, database_url=database_url) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        assert http.get("/health/ready").status_code == 200
        name = database_url.rsplit("/", 1)[1]
        with psycopg.connect(require_postgres(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        response = http.get("/health/ready")
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        error = response.json()["error"]
        assert error["code"] == "unavailable"
        assert error["message"].startswith("The database is unreachable: ")
        assert error["request_id"] == response.headers["x-request-id"]
        assert http.get("/health").status_code == 200


def test_register_returns_a_working_key(member: Account) -> None:
    me = member.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["id"] == member.id
    assert me.json()["role"] == "member"


def test_register_twice_with_one_email_conflicts(client: httpx.Client, member: Account) -> None:
    body = {"email": member.user["email"], "name": "Again"}
    response = client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_unknown_key_is_401(client: httpx.Client) -> None:
    response = client.get("/api/v1/workspaces", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_workspace_lifecycle(member: Account) -> None:
    created = member.post("/api/v1/workspaces", json={"name": "alpha", "description": "first"})
    assert created.status_code == 201, created.text
    workspace = created.json()
    url = f"/api/v1/workspaces/{workspace['id']}"
    assert member.get(url).json()["name"] == "alpha"
    patched = member.patch(url, json={"name": "beta"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "beta"
    assert patched.json()["description"] == "first"
    assert member.delete(url).status_code == 204
    assert member.get(url).status_code == 404


def test_another_accounts_workspace_is_not_found(member: Account, other_member: Account) -> None:
    workspace = member.post("/api/v1/workspaces", json={"name": "mine"}).json()
    url = f"/api/v1/workspaces/{workspace['id']}"
    assert other_member.get(url).status_code == 404
    assert other_member.patch(url, json={"name": "stolen"}).status_code == 404
    assert other_member.delete(url).status_code == 404
    assert member.get(url).json()["name"] == "mine"


def test_pagination_walks_every_workspace_once(member: Account) -> None:
    ids = {member.post("/api/v1/workspaces", json={"name": f"w{i}"}).json()["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = member.get("/api/v1/workspaces", params=params).json()
        assert len(page["items"]) <= 3
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(seen) == ids
    assert len(seen) == len(ids)


def test_page_size_is_bounded(member: Account) -> None:
    assert member.get("/api/v1/workspaces", params={"limit": 101}).status_code == 422
    assert member.get("/api/v1/workspaces", params={"limit": 0}).status_code == 422
    bad = member.get("/api/v1/workspaces", params={"cursor": "%%%"})
    assert bad.status_code == 422


def test_unknown_fields_are_rejected(member: Account) -> None:
    response = member.post("/api/v1/workspaces", json={"name": "x", "owner_id": "someone"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]


def test_request_id_is_echoed(client: httpx.Client) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
