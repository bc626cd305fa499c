"""NUL in text input: the same 422 on SQLite and PostgreSQL.

PostgreSQL text cannot hold NUL and refused it (422); SQLite stored it (a workspace named
"nul\\x00byte") and matched it in searches. Both now refuse it at the database boundary.
"""

from __future__ import annotations

import httpx
import pytest

from platform_accounts import Account


def assert_refused(response: httpx.Response, where: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == [where]


@pytest.mark.parametrize(
    "body",
    [{"name": "nul\x00byte"}, {"name": "ok", "description": "\x00"}],
    ids=["name", "description"],
)
def test_a_workspace_with_nul_is_refused(member: Account, body: dict[str, str]) -> None:
    assert_refused(member.post("/api/v1/workspaces", json=body), "body")
    assert member.get("/api/v1/workspaces").json()["items"] == []


def test_a_document_with_nul_is_refused(member: Account) -> None:
    workspace = member.post("/api/v1/workspaces", json={"name": "docs"}).json()["id"]
    body = {"title": "t", "content": "before\x00after", "tags": []}
    assert_refused(member.post(f"/api/v1/workspaces/{workspace}/documents", json=body), "body")


def test_a_search_for_nul_is_refused(member: Account) -> None:
    workspace = member.post("/api/v1/workspaces", json={"name": "docs"}).json()["id"]
    url = f"/api/v1/workspaces/{workspace}/search"
    assert_refused(member.get(url, params={"q": "\x00"}), "query")
    assert member.get(url, params={"q": "anything"}).status_code == 200
