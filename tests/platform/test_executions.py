"""Executions against the real server: queued, run by the worker, one final state, exact costs.

The last test kills the server with SIGKILL mid-execution and checks that a new server on the same
database re-runs the execution exactly once when the lease expires.
"""

from __future__ import annotations

import math
import random
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from executions_api import new_workflow, query, run, wait_final, wait_status

from platform_accounts import Account, register
from platform_api.executions.steps import count_tokens, transform
from platform_backends import BACKENDS, start
from platform_server import PlatformServer, running_platform

PRICES = {"small": 0.0005, "medium": 0.003, "large": 0.015}


@pytest.mark.parametrize(
    ("operation", "text_in", "expected"),
    [
        ("uppercase", "Load test", "LOAD TEST"),
        ("lowercase", "Load TEST", "load test"),
        ("reverse", "abc", "cba"),
        ("sha256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("word_count", "  one two\nthree ", "3"),
        ("word_count", "", "0"),
    ],
    ids=["uppercase", "lowercase", "reverse", "sha256-empty", "word-count", "word-count-empty"],
)
def test_transform_operations(operation: str, text_in: str, expected: str) -> None:
    assert transform(operation, text_in) == expected


@pytest.mark.parametrize(
    ("text_in", "tokens"),
    [("", 0), ("one", 2), ("one two three", 4), ("a " * 10, 13)],
    ids=["empty", "one-word", "three-words", "ten-words"],
)
def test_tokens_are_words_times_1_3_rounded_up(text_in: str, tokens: int) -> None:
    assert count_tokens(text_in) == tokens


def test_an_execution_runs_every_step_and_pays_for_its_tokens(
    member: Account, server: PlatformServer
) -> None:
    steps: list[dict[str, Any]] = [
        {"type": "transform", "name": "shout", "operation": "uppercase"},
        {
            "type": "llm",
            "name": "ask",
            "model": "medium",
            "prompt": "one two three",
            "max_tokens": 40,
        },
        {"type": "transform", "name": "count", "operation": "word_count"},
        {"type": "sleep", "name": "pause", "seconds": 0.05},
    ]
    _, workflow_id = new_workflow(member, steps)
    execution_id = run(member, workflow_id, "hello load test")
    # The 202 came after the commit: the execution is readable at once.
    assert member.get(f"/api/v1/executions/{execution_id}").status_code == 200
    execution = wait_final(member, execution_id)

    assert execution["status"] == "succeeded", execution
    assert execution["attempts"] == 1
    assert execution["error"] is None
    results = execution["step_results"]
    assert [r["name"] for r in results] == ["shout", "ask", "count", "pause"]
    assert all(r["status"] == "succeeded" for r in results)
    assert results[0]["output"] == "HELLO LOAD TEST"
    prompt_tokens = math.ceil(6 * 1.3)  # "one two three" and "HELLO LOAD TEST"
    output_tokens = random.Random(f"{execution_id}:1").randint(10, 40)
    assert results[1]["tokens"] == prompt_tokens + output_tokens
    assert results[1]["cost_usd"] == pytest.approx(results[1]["tokens"] * PRICES["medium"] / 1000)
    assert execution["cost_usd"] == pytest.approx(results[1]["cost_usd"])
    words = len(results[1]["output"].removesuffix("…").split())
    assert execution["output"] == {"text": results[2]["output"]}
    assert int(results[2]["output"]) >= min(words, 1)
    assert results[3]["duration_ms"] >= 50
    assert execution["started_at"] <= execution["finished_at"]

    costs = query(
        server.database_url,
        "SELECT model, tokens, cost_usd FROM cost_records WHERE execution_id = :id",
        id=execution_id,
    )
    assert [(c.model, c.tokens) for c in costs] == [("medium", results[1]["tokens"])]


def test_a_failing_step_fails_the_execution_and_stops_it(member: Account) -> None:
    steps: list[dict[str, Any]] = [
        {"type": "transform", "name": "shout", "operation": "uppercase"},
        {"type": "fail", "name": "boom", "message": "no luck"},
        {"type": "llm", "name": "never", "model": "small", "prompt": "p", "max_tokens": 5},
    ]
    _, workflow_id = new_workflow(member, steps)
    execution = wait_final(member, run(member, workflow_id, "x"))
    assert execution["status"] == "failed"
    assert execution["error"] == "step boom failed: no luck"
    assert [(r["name"], r["status"]) for r in execution["step_results"]] == [
        ("shout", "succeeded"),
        ("boom", "failed"),
    ]
    assert execution["output"] is None
    assert execution["cost_usd"] == 0


def test_executions_are_listed_by_workspace_and_status(member: Account) -> None:
    ok = [{"type": "transform", "name": "t", "operation": "reverse"}]
    workspace_id, workflow_id = new_workflow(member, ok)
    ids = [run(member, workflow_id, f"text {i}") for i in range(3)]
    for execution_id in ids:
        wait_final(member, execution_id)
    url = f"/api/v1/workspaces/{workspace_id}/executions"
    page = member.get(url, params={"limit": 2}).json()
    assert len(page["items"]) == 2
    rest = member.get(url, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert sorted(i["id"] for i in page["items"] + rest["items"]) == sorted(ids)
    assert len(member.get(url, params={"status": "succeeded"}).json()["items"]) == 3
    assert member.get(url, params={"status": "queued"}).json()["items"] == []
    assert member.get(url, params={"status": "exploded"}).status_code == 422


def test_executions_of_another_account_are_not_found(
    member: Account, other_member: Account
) -> None:
    ok = [{"type": "transform", "name": "t", "operation": "sha256"}]
    workspace_id, workflow_id = new_workflow(member, ok)
    execution_id = run(member, workflow_id)
    assert other_member.get(f"/api/v1/executions/{execution_id}").status_code == 404
    assert other_member.get(f"/api/v1/workspaces/{workspace_id}/executions").status_code == 404
    assert other_member.post(f"/api/v1/workflows/{workflow_id}/executions").status_code == 404
    assert member.post("/api/v1/workflows/nope/executions").status_code == 404
    assert member.get("/api/v1/executions/nope").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"input": {"text": 5}}, {"input": {"text": "x", "extra": 1}}, {"inputs": {}}],
    ids=["text-not-a-string", "extra-input-field", "unknown-field"],
)
def test_bad_execution_bodies_are_422(member: Account, body: dict[str, Any]) -> None:
    ok = [{"type": "transform", "name": "t", "operation": "sha256"}]
    _, workflow_id = new_workflow(member, ok)
    response = member.post(f"/api/v1/workflows/{workflow_id}/executions", json=body)
    assert response.status_code == 422, response.text


def test_an_execution_without_a_body_runs_on_empty_input(member: Account) -> None:
    _, workflow_id = new_workflow(
        member, [{"type": "transform", "name": "t", "operation": "sha256"}]
    )
    response = member.post(f"/api/v1/workflows/{workflow_id}/executions")
    assert response.status_code == 202, response.text
    execution = wait_final(member, response.json()["id"])
    assert execution["input"] == {"text": ""}
    assert execution["output"]["text"] == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_test_run_id_tags_the_execution_and_its_costs(
    member: Account, server: PlatformServer
) -> None:
    steps = [{"type": "llm", "name": "a", "model": "small", "prompt": "p q", "max_tokens": 8}]
    _, workflow_id = new_workflow(member, steps)
    execution_id = run(member, workflow_id, **{"X-Load-Test-Run": "run-exec-1"})
    wait_final(member, execution_id)
    rows = query(
        server.database_url,
        "SELECT e.test_run_id AS e_run, c.test_run_id AS c_run FROM executions e "
        "JOIN cost_records c ON c.execution_id = e.id WHERE e.id = :id",
        id=execution_id,
    )
    assert [(r.e_run, r.c_run) for r in rows] == [("run-exec-1", "run-exec-1")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_workers_execution_is_rerun_exactly_once(backend: str, tmp_path: Path) -> None:
    env = {"PLATFORM_EXECUTION_LEASE_S": "2", "PLATFORM_WORKER_POLL_INTERVAL_S": "0.1"}
    steps: list[dict[str, Any]] = [
        {"type": "llm", "name": "ask", "model": "large", "prompt": "a b c", "max_tokens": 16},
        {"type": "sleep", "name": "slow", "seconds": 2},
    ]
    with ExitStack() as stack:
        first = start(stack, tmp_path, backend, env=env, process=True)
        with httpx.Client(base_url=first.base_url, timeout=10) as http:
            member = register(http)
            _, workflow_id = new_workflow(member, steps)
            execution_id = run(member, workflow_id, "x")
            wait_status(member, execution_id, "running")
        first.process.kill()
        first.process.wait(timeout=10)

        with (
            running_platform(tmp_path, database_url=first.database_url, env=env) as second,
            httpx.Client(base_url=second.base_url, timeout=10) as http,
        ):
            member.client = http
            execution = wait_final(member, execution_id, timeout_s=30)
        assert execution["status"] == "succeeded", execution
        assert execution["attempts"] == 2
        assert [r["name"] for r in execution["step_results"]] == ["ask", "slow"]
        costs = query(
            first.database_url,
            "SELECT count(*) AS n FROM cost_records WHERE execution_id = :id",
            id=execution_id,
        )
        assert costs[0].n == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_workers_run_each_execution_once(backend: str, tmp_path: Path) -> None:
    """Two processes of two worker threads each claim from one queue: no execution runs twice."""
    env = {"PLATFORM_WORKER_POLL_INTERVAL_S": "0.02"}
    steps = [{"type": "llm", "name": "ask", "model": "small", "prompt": "a b", "max_tokens": 8}]
    with ExitStack() as stack:
        server = start(stack, tmp_path, backend, env=env, workers=2, process=True)
        http = stack.enter_context(httpx.Client(base_url=server.base_url, timeout=10))
        member = register(http)
        workspace_id, workflow_id = new_workflow(member, steps)
        ids = [run(member, workflow_id) for _ in range(20)]
        executions = [wait_final(member, execution_id) for execution_id in ids]
        assert {e["status"] for e in executions} == {"succeeded"}
        assert {e["attempts"] for e in executions} == {1}
        costs = query(
            server.database_url,
            "SELECT execution_id, count(*) AS n FROM cost_records"
            " WHERE workspace_id = :ws GROUP BY execution_id",
            ws=workspace_id,
        )
        assert sorted((c.execution_id, c.n) for c in costs) == sorted((i, 1) for i in ids)
        assert "Traceback" not in server.log()
