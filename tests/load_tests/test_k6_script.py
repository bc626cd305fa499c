"""load_tests/k6_script.js run as the seed's commands run it, for a few seconds each."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from tool_runs import delete_test_run, read_as_members, run_tool, tool_env

from platform_server import NO_FAULTS, PlatformServer, free_port

RAW_ID = re.compile(r"[0-9a-f]{32}")


def k6(platform_url: str, *options: str, judged: bool = False) -> list[str]:
    """The seed's k6 command. Unless `judged`, without the script's latency thresholds: whether
    a few seconds meet them depends on the machine's speed, and these tests are about the rest."""
    judging = [] if judged else ["--no-thresholds"]
    command = ["k6", "run", "--quiet", "-e", f"BASE_URL={platform_url}", *judging, *options]
    return [*command, "k6_script.js"]


def points(results: Path, metric: str) -> list[dict[str, Any]]:
    """The data of every sample of one metric in k6's --out json file."""
    found = []
    with results.open() as handle:
        for line in handle:
            record = json.loads(line)
            if record["type"] == "Point" and record["metric"] == metric:
                found.append(record["data"])
    return found


def assert_every_check_passed(results: Path) -> None:
    checks = points(results, "checks")
    failed = Counter(str(p["tags"]["check"]) for p in checks if p["value"] != 1)
    assert checks, "no check ran"
    assert not failed, failed


def request_tags(results: Path, tag: str) -> set[str]:
    return {str(p["tags"].get(tag)) for p in points(results, "http_reqs")}


def test_configured_stages_shortened_pass_every_check_and_clean_up(
    platform: PlatformServer, tmp_path: Path
) -> None:
    run_id = f"t-{uuid.uuid4().hex[:10]}"
    results = tmp_path / "results.json"
    run = run_tool(
        k6(
            platform.base_url,
            *("-e", "TIME_SCALE=0.01", "-e", "VU_SCALE=0.05", "-e", "LOAD_TEST_THINK_SCALE=0.2"),
            f"--out=json={results}",
        ),
        tool_env(platform, LOAD_TEST_RUN_ID=run_id),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    assert_every_check_passed(results)
    scenarios = request_tags(results, "scenario")
    assert {"platform_user", "admin_user", "heavy_user"} <= scenarios, scenarios
    names = request_tags(results, "name")
    assert not [name for name in names if "?" in name or RAW_ID.search(name)], names
    assert f"cleanup of test run {run_id}: deleted" in run.stderr, run.explain()
    assert not any(delete_test_run(platform, run_id).values()), "the run left data behind"


def test_vus_and_duration_replace_the_stages(platform: PlatformServer, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = run_tool(
        k6(platform.base_url, "--vus", "3", "--duration", "4s", "--out", f"json={results}"),
        tool_env(platform, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    assert_every_check_passed(results)
    assert request_tags(results, "scenario") - {"None"} == {"default"}  # None: setup, teardown
    names = request_tags(results, "name")
    assert "/api/v1/admin/metrics" in names or "/api/v1/auth/me" in names, names
    assert "/api/v1/datasets" in names, names
    vus_max = max(float(p["value"]) for p in points(results, "vus_max"))
    assert vus_max == 3


def test_stage_option_replaces_the_stages(platform: PlatformServer, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = run_tool(
        k6(platform.base_url, "--stage", "2s:3,2s:0", "--out", f"json={results}"),
        tool_env(platform, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    assert_every_check_passed(results)
    assert "default" in request_tags(results, "scenario")


def test_slower_than_the_thresholds_exits_99(platform: PlatformServer, tmp_path: Path) -> None:
    faults = f"{platform.base_url}/api/v1/admin/faults"
    slow = {**NO_FAULTS, "latency_ms": 600}
    httpx.put(faults, json=slow, headers=platform.admin_headers(), timeout=10).raise_for_status()
    try:
        run = run_tool(
            k6(platform.base_url, "--vus", "2", "--duration", "3s", judged=True),
            tool_env(platform, LOAD_TEST_THINK_SCALE="0.2"),
            tmp_path,
        )
    finally:
        httpx.put(faults, json=NO_FAULTS, headers=platform.admin_headers(), timeout=10)

    assert run.code == 99, run.explain()
    assert "thresholds on metrics" in run.stderr
    assert "http_req_duration" in run.stderr


def test_dead_target_aborts_early(tmp_path: Path) -> None:
    started = time.monotonic()
    run = run_tool(
        k6(f"http://127.0.0.1:{free_port()}", "--vus", "2", "--duration", "60s", judged=True),
        tool_env(None, PLATFORM_ADMIN_API_KEY="admin-" + "0" * 32, LOAD_TEST_CLEANUP="0"),
        tmp_path,
    )

    assert run.code == 99, run.explain()
    assert time.monotonic() - started < 60  # aborted: the run was planned for 60 s
    assert "http_req_failed" in run.stderr


def test_tags_health_sends_only_health_checks(platform: PlatformServer, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    options = ["-e", "TAGS=health", "--vus", "3", "--duration", "3s", "--out", f"json={results}"]
    run = run_tool(
        k6(platform.base_url, *options),
        tool_env(None, LOAD_TEST_THINK_SCALE="0.2"),  # health checks need no admin key
        tmp_path,
    )

    assert run.code == 0, run.explain()
    assert_every_check_passed(results)
    names = request_tags(results, "name")
    assert "/health" in names, names
    assert names <= {"/health", "/health/ready"}, names


def test_exclude_tags_write_sends_only_get_requests(
    platform: PlatformServer, tmp_path: Path
) -> None:
    results = tmp_path / "results.json"
    options = [
        "-e",
        "EXCLUDE_TAGS=write",
        "--vus",
        "3",
        "--duration",
        "3s",
        "--out",
        f"json={results}",
    ]
    run = run_tool(
        k6(platform.base_url, *options),
        tool_env(platform, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    assert_every_check_passed(results)
    assert request_tags(results, "method") == {"GET"}
    assert {"/api/v1/auth/me", "/api/v1/datasets"} <= request_tags(results, "name")


def test_a_read_only_run_reads_seeded_members_workspaces(
    platform: PlatformServer, tmp_path: Path
) -> None:
    """With PLATFORM_API_KEYS, each VU reads as one seeded member: inside its workspaces."""
    run = read_as_members(
        platform,
        k6(platform.base_url, "-e", "EXCLUDE_TAGS=write", "--vus", "3", "--duration", "90s"),
        tmp_path,
    )
    assert run.finished.code == 105, run.finished.explain()  # k6's exit code when interrupted
    assert {method for method, _, _ in run.served} <= {"GET"}, run.served
    assert {status for _, _, status in run.workspace_reads} == {"200"}, run.workspace_reads


@pytest.mark.parametrize(
    ("scale", "targets", "total"),
    [
        pytest.param(
            [],
            {"platform_user": 80, "admin_user": 10, "heavy_user": 10},
            "9m30s",
            id="seed-load-test",
        ),
        pytest.param(
            ["-e", "TIME_SCALE=0.01", "-e", "VU_SCALE=0.05"],
            {"platform_user": 4, "admin_user": 1, "heavy_user": 1},
            "5.7s",
            id="shortened",
        ),
    ],
)
def test_configured_stages_are_the_seeds_load_test(
    scale: list[str], targets: dict[str, int], total: str, tmp_path: Path
) -> None:
    run = run_tool(
        ["k6", "inspect", "--execution-requirements", *scale, "k6_script.js"],
        tool_env(None),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    inspected = json.loads(run.stdout)
    peaks = {
        name: max(s["target"] for s in sc["stages"]) for name, sc in inspected["scenarios"].items()
    }
    assert peaks == targets
    assert inspected["totalDuration"] == total
    assert inspected["thresholds"]["http_req_duration{kind:api}"] == ["p(95)<500", "p(99)<1000"]
