"""Workflows against the real server: lifecycle, step validation, ownership, pagination."""

from __future__ import annotations

from typing import Any

import pytest

from platform_accounts import Account

STEPS: list[dict[str, Any]] = [
    {"type": "transform", "name": "shout", "operation": "uppercase"},
    {"type": "llm", "name": "ask", "model": "small", "prompt": "Summarise", "max_tokens": 64},
    {"type": "sleep", "name": "pause", "seconds": 0},
]


def new_workspace(account: Account) -> str:
    response = account.post("/api/v1/workspaces", json={"name": "flows"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_workflow_lifecycle(member: Account) -> None:
    workspace_id = new_workspace(member)
    created = member.post(
        f"/api/v1/workspaces/{workspace_id}/workflows",
        json={"name": "pipeline", "description": "d", "steps": STEPS},
    )
    assert created.status_code == 201, created.text
    workflow = created.json()
    assert workflow["workspace_id"] == workspace_id
    assert [step["type"] for step in workflow["steps"]] == ["transform", "llm", "sleep"]
    url = f"/api/v1/workflows/{workflow['id']}"
    assert member.get(url).json() == workflow

    patched = member.patch(url, json={"name": "renamed", "steps": STEPS[:1]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "renamed"
    assert patched.json()["description"] == "d"
    assert patched.json()["steps"] == [STEPS[0]]

    listed = member.get(f"/api/v1/workspaces/{workspace_id}/workflows").json()
    assert [item["id"] for item in listed["items"]] == [workflow["id"]]
    assert member.delete(url).status_code == 204
    assert member.get(url).status_code == 404
    assert member.get(f"/api/v1/workspaces/{workspace_id}/workflows").json()["items"] == []


INVALID_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("no-steps", {"name": "x", "steps": []}),
    ("too-many-steps", {"name": "x", "steps": [STEPS[0]] * 21}),
    ("unknown-type", {"name": "x", "steps": [{"type": "shell", "name": "rm"}]}),
    ("unknown-operation", {"name": "x", "steps": [{**STEPS[0], "operation": "rot13"}]}),
    ("unknown-model", {"name": "x", "steps": [{**STEPS[1], "model": "huge"}]}),
    ("zero-max-tokens", {"name": "x", "steps": [{**STEPS[1], "max_tokens": 0}]}),
    ("too-many-tokens", {"name": "x", "steps": [{**STEPS[1], "max_tokens": 4097}]}),
    ("sleep-too-long", {"name": "x", "steps": [{**STEPS[2], "seconds": 5.5}]}),
    ("negative-sleep", {"name": "x", "steps": [{**STEPS[2], "seconds": -1}]}),
    ("sleep-seconds-bool", {"name": "x", "steps": [{**STEPS[2], "seconds": False}]}),
    ("max-tokens-string", {"name": "x", "steps": [{**STEPS[1], "max_tokens": "64"}]}),
    ("max-tokens-bool", {"name": "x", "steps": [{**STEPS[1], "max_tokens": True}]}),
    ("extra-step-field", {"name": "x", "steps": [{**STEPS[0], "shell": "rm -rf /"}]}),
    ("extra-body-field", {"name": "x", "steps": STEPS, "owner_id": "someone"}),
    ("empty-name", {"name": "", "steps": STEPS}),
]


@pytest.mark.parametrize(
    "body", [body for _, body in INVALID_BODIES], ids=[name for name, _ in INVALID_BODIES]
)
def test_invalid_workflows_are_rejected(member: Account, body: dict[str, Any]) -> None:
    workspace_id = new_workspace(member)
    response = member.post(f"/api/v1/workspaces/{workspace_id}/workflows", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]


def test_invalid_steps_on_update_are_rejected(member: Account) -> None:
    workspace_id = new_workspace(member)
    workflow = member.post(
        f"/api/v1/workspaces/{workspace_id}/workflows", json={"name": "x", "steps": STEPS}
    ).json()
    url = f"/api/v1/workflows/{workflow['id']}"
    assert member.patch(url, json={"steps": []}).status_code == 422
    assert member.get(url).json()["steps"] == workflow["steps"]


def test_another_accounts_workflows_are_not_found(member: Account, other_member: Account) -> None:
    workspace_id = new_workspace(member)
    workflow = member.post(
        f"/api/v1/workspaces/{workspace_id}/workflows", json={"name": "x", "steps": STEPS}
    ).json()
    url = f"/api/v1/workflows/{workflow['id']}"
    assert other_member.get(url).status_code == 404
    assert other_member.patch(url, json={"name": "stolen"}).status_code == 404
    assert other_member.delete(url).status_code == 404
    nested = f"/api/v1/workspaces/{workspace_id}/workflows"
    assert other_member.get(nested).status_code == 404
    assert other_member.post(nested, json={"name": "y", "steps": STEPS}).status_code == 404
    assert member.get(url).json()["name"] == "x"


def test_deleting_the_workspace_deletes_its_workflows(member: Account) -> None:
    workspace_id = new_workspace(member)
    workflow = member.post(
        f"/api/v1/workspaces/{workspace_id}/workflows", json={"name": "x", "steps": STEPS}
    ).json()
    assert member.delete(f"/api/v1/workspaces/{workspace_id}").status_code == 204
    assert member.get(f"/api/v1/workflows/{workflow['id']}").status_code == 404


def test_workflow_pagination_walks_every_workflow_once(member: Account) -> None:
    workspace_id = new_workspace(member)
    url = f"/api/v1/workspaces/{workspace_id}/workflows"
    ids = {member.post(url, json={"name": f"f{i}", "steps": STEPS}).json()["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        page = member.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
