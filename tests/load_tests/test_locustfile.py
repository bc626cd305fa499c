"""load_tests/locustfile.py run as the seed's commands run it, for a few seconds each."""

from __future__ import annotations

import csv
import re
import uuid
from pathlib import Path

from tool_runs import (
    delete_test_run,
    read_as_members,
    request_counts,
    run_tool,
    served_between,
    tool_env,
)

from platform_server import PlatformServer, free_port

ADMIN_ROUTES = {"/api/v1/admin/metrics", "/api/v1/admin/audit-logs", "/api/v1/admin/costs"}
HEAVY_ROUTES = {"/api/v1/datasets", "/api/v1/analysis/samples", "/api/v1/datasets/[id]/search"}
RAW_ID = re.compile(r"[0-9a-f]{32}")
PLATFORM_ROUTES = {"/api/v1/workspaces/[id]/workflows", "/api/v1/workspaces/[id]/search"}


def locust(
    platform: PlatformServer, *extra: str, users: int = 6, run_time: str = "5s"
) -> list[str]:
    """The seed's headless command line, pointed at the test platform."""
    return [
        "locust",
        "-f",
        "locustfile.py",
        f"--host={platform.base_url}",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        run_time,
        "--headless",
        "--only-summary",
        *extra,
    ]


def stats_rows(prefix: Path) -> list[dict[str, str]]:
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["Name"] != "Aggregated"]


def test_health_tag_sends_only_health_checks(platform: PlatformServer, tmp_path: Path) -> None:
    before = request_counts(platform)
    run = run_tool(
        locust(platform, "--tags", "health", "--csv", str(tmp_path / "run")),
        tool_env(None, LOAD_TEST_THINK_SCALE="0.2"),  # no admin key: health checks need none
        tmp_path,
    )
    served = served_between(before, request_counts(platform))

    assert run.code == 0, run.explain()
    assert ("GET", "/health") in served, served
    assert set(served) <= {("GET", "/health"), ("GET", "/health/ready")}, served
    assert {row["Name"] for row in stats_rows(tmp_path / "run")} <= {"/health", "/health/ready"}


def test_exclude_write_sends_only_get_requests(platform: PlatformServer, tmp_path: Path) -> None:
    before = request_counts(platform)
    run = run_tool(
        locust(platform, "--exclude-tags", "write", "--csv", str(tmp_path / "run")),
        tool_env(platform, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )
    served = served_between(before, request_counts(platform))

    assert run.code == 0, run.explain()
    assert {method for method, _ in served} == {"GET"}, served
    assert {route for _, route in served} & {"/api/v1/admin/metrics", "/api/v1/datasets"}
    assert {row["Type"] for row in stats_rows(tmp_path / "run")} == {"GET"}


def test_a_read_only_run_reads_seeded_members_workspaces(
    platform: PlatformServer, tmp_path: Path
) -> None:
    """With existing accounts' keys (PLATFORM_API_KEYS), readers read what those members own:
    their workspaces' workflows, executions and documents, not only the workspace list."""
    run = read_as_members(
        platform,
        locust(platform, "PlatformUser", "--exclude-tags", "write", run_time="90s"),
        tmp_path,
    )
    assert run.finished.code == 0, run.finished.explain()
    assert {method for method, _, _ in run.served} <= {"GET"}, run.served
    assert {status for _, _, status in run.workspace_reads} == {"200"}, run.workspace_reads


def test_plain_run_exercises_every_user_class_and_cleans_up(
    platform: PlatformServer, tmp_path: Path
) -> None:
    run_id = f"t-{uuid.uuid4().hex[:10]}"
    report = tmp_path / "report.html"
    run = run_tool(
        locust(platform, f"--html={report}", "--csv", str(tmp_path / "run"), run_time="7s"),
        tool_env(platform, LOAD_TEST_RUN_ID=run_id, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    assert "All users spawned" in run.stderr
    for user_class in ("PlatformUser", "AdminUser", "HeavyUser"):
        assert f'"{user_class}": ' in run.stderr, run.explain()
    rows = stats_rows(tmp_path / "run")
    names = {row["Name"] for row in rows}
    assert names & ADMIN_ROUTES, names
    assert names & HEAVY_ROUTES, names
    assert names & PLATFORM_ROUTES, names
    assert not [name for name in names if "?" in name or RAW_ID.search(name)], names
    assert sum(int(row["Failure Count"]) for row in rows) == 0
    assert "/api/v1/workspaces/[id]" in report.read_text()
    for suffix in ("stats", "stats_history", "failures", "exceptions"):
        assert Path(f"{tmp_path / 'run'}_{suffix}.csv").stat().st_size > 0
    assert f"cleanup of test run {run_id}: deleted" in run.stderr
    assert not any(delete_test_run(platform, run_id).values()), "the run left data behind"


def test_no_cleanup_keeps_the_runs_data(platform: PlatformServer, tmp_path: Path) -> None:
    run_id = f"t-{uuid.uuid4().hex[:10]}"
    run = run_tool(
        locust(platform, "--no-cleanup", "PlatformUser", users=2, run_time="3s"),
        tool_env(platform, LOAD_TEST_RUN_ID=run_id, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    left = delete_test_run(platform, run_id)
    assert left["users"] == 2, left
    assert left["workspaces"] >= 2, left


def test_missing_admin_key_stops_with_one_clear_line(
    platform: PlatformServer, tmp_path: Path
) -> None:
    run = run_tool(locust(platform, run_time="3s"), tool_env(None), tmp_path)

    assert run.code == 2, run.explain()
    assert "PLATFORM_ADMIN_API_KEY" in run.stderr
    assert "Traceback" not in run.stderr


def test_distributed_run_shares_one_run_id_and_cleans_up_once(
    platform: PlatformServer, tmp_path: Path
) -> None:
    port = str(free_port())  # not Locust's default 5557: other runs may be using it
    loopback = ["--master-bind-host", "127.0.0.1", "--master-host", "127.0.0.1"]
    ports = ["--master-bind-port", port, "--master-port", port]
    run = run_tool(
        locust(
            platform, "--processes", "2", *loopback, *ports, "PlatformUser", users=4, run_time="4s"
        ),
        tool_env(platform, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    generated = re.findall(r"load test run id: (lt-[0-9a-f]{12})", run.stderr)
    assert len(generated) == 1, run.explain()  # the master generates it; workers receive it
    assert run.stderr.count("cleanup of test run") == 1, run.explain()
    assert not any(delete_test_run(platform, generated[0]).values()), "the run left data behind"


def test_web_ui_run_cleans_up_after_stop(platform: PlatformServer, tmp_path: Path) -> None:
    """The seed's first command (web UI) on a free port, with autostart instead of a click."""
    run_id = f"t-{uuid.uuid4().hex[:10]}"
    web = ["--web-host", "127.0.0.1", "--web-port", str(free_port())]
    load = ["--users", "3", "--spawn-rate", "3", "--run-time", "3s"]
    command = ["locust", "-f", "locustfile.py", f"--host={platform.base_url}", *web, *load]
    command += ["--autostart", "--autoquit", "0"]
    run = run_tool(
        command, tool_env(platform, LOAD_TEST_RUN_ID=run_id, LOAD_TEST_THINK_SCALE="0.2"), tmp_path
    )

    assert run.code == 0, run.explain()
    assert "Starting web interface at http://127.0.0.1:" in run.stderr
    assert f"cleanup of test run {run_id}: deleted" in run.stderr, run.explain()
    assert not any(delete_test_run(platform, run_id).values()), "the run left data behind"


def test_a_tag_selecting_some_writes_still_cleans_up(
    platform: PlatformServer, tmp_path: Path
) -> None:
    """`--tags admin` selects AdminUser's user management (writes) without the `write` tag."""
    run_id = f"t-{uuid.uuid4().hex[:10]}"
    env = tool_env(platform, LOAD_TEST_RUN_ID=run_id, LOAD_TEST_THINK_SCALE="0.1")
    refused = run_tool(locust(platform, "--tags", "admin", run_time="3s"), env, tmp_path)
    run = run_tool(
        ["locust", "-f", "locustfile.py", "AdminUser", *locust(platform, "--tags", "admin")[3:]],
        env,
        tmp_path,
    )

    assert refused.code == 2, refused.explain()
    assert "leave PlatformUser, HeavyUser with no task" in refused.stderr
    assert run.code == 0, run.explain()
    assert f"cleanup of test run {run_id}: deleted" in run.stderr, run.explain()
    assert not any(delete_test_run(platform, run_id).values()), "the run left data behind"
