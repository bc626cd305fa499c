"""Real locust and k6 runs for the tests of load_tests/, and what the platform saw of them.

Every run is shaped like a command of load_tests/README.md: it starts in load_tests/, finds
`locust` and `k6` on the PATH (the project's virtualenv), and targets the test platform on a free
loopback port instead of localhost:8000. (Not in conftest.py: test folders each have a conftest,
and `from conftest import` would pick whichever was imported first.)
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from platform_server import PlatformServer
from process_harness import Finished, TestProcess, run
from waiting import wait_for

LOAD_TESTS = Path(__file__).resolve().parents[2] / "load_tests"
BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 90
METRIC_LINE = re.compile(
    r'^platform_http_requests_total\{method="(?P<method>[^"]+)",route="(?P<route>[^"]+)",'
    r'status="(?P<status>[^"]+)"\} (?P<value>[0-9.e+]+)$'
)


def tool_env(platform: PlatformServer | None, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOAD_TEST_")}
    env.pop("PLATFORM_ADMIN_API_KEY", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    if platform is not None:
        env["PLATFORM_ADMIN_API_KEY"] = platform.admin_key
    env.update(extra)
    return env


def run_tool(args: Sequence[str], env: dict[str, str], logs: Path) -> Finished:
    """Run locust or k6 from load_tests/ as the README does; output goes to files in `logs`."""
    return run(args, logs, env=env, cwd=LOAD_TESTS, timeout_s=RUN_TIMEOUT_S)


def request_counts(platform: PlatformServer) -> Counter[tuple[str, str]]:
    """(method, route) -> requests served so far, whatever their status."""
    counts: Counter[tuple[str, str]] = Counter()
    for (method, route, _status), served in answers(platform).items():
        counts[(method, route)] += served
    return counts


def answers(platform: PlatformServer) -> Counter[tuple[str, str, str]]:
    """(method, route, status) -> responses so far, from the platform's own /metrics."""
    text = httpx.get(f"{platform.base_url}/metrics", timeout=10).text
    counts: Counter[tuple[str, str, str]] = Counter()
    for line in text.splitlines():
        if match := METRIC_LINE.match(line):
            counts[(match["method"], match["route"], match["status"])] += int(float(match["value"]))
    return counts


def workspace_reads(
    platform: PlatformServer, before: Counter[tuple[str, str, str]]
) -> Counter[tuple[str, str, str]]:
    """Responses since `before` on a workspace's own routes and those under it."""
    served = answers(platform) - before
    inside = "/api/v1/workspaces/{"  # the route templates of /metrics
    return Counter({key: n for key, n in served.items() if key[1].startswith(inside)})


@dataclass(frozen=True)
class ReadAsMembers:
    """A read-only run stopped once a member's workspace was read: its exit, and what it sent."""

    finished: Finished
    served: Counter[tuple[str, str, str]]
    workspace_reads: Counter[tuple[str, str, str]]


def read_as_members(platform: PlatformServer, command: Sequence[str], logs: Path) -> ReadAsMembers:
    """Run `command` (the seed's, without writes) with seeded members' keys until one read
    inside a member's workspace is answered 200, then interrupt it as Ctrl-C would."""
    keys = seeded_member_keys(platform, logs)
    env = tool_env(platform, LOAD_TEST_THINK_SCALE="0", PLATFORM_API_KEYS=keys)
    before = answers(platform)
    with TestProcess(command, logs, env=env, cwd=LOAD_TESTS, name=Path(command[0]).name) as run:
        wait_for(
            lambda: any(status == "200" for _, _, status in workspace_reads(platform, before)),
            60,
            "a read inside a seeded member's workspace, answered 200",
        )
        run.signal()
        finished = run.finish(60)
    return ReadAsMembers(finished, answers(platform) - before, workspace_reads(platform, before))


def seeded_member_keys(platform: PlatformServer, logs: Path, count: int = 3) -> str:
    """`platform-api seed-keys` on the platform's database: seeded members' keys, comma-joined."""
    out = logs / "member.keys"
    env = {**os.environ, "PLATFORM_DATABASE_URL": platform.database_url}
    done = run([str(BIN / "platform-api"), "seed-keys", "--count", str(count), "--out", str(out)],
               logs, env=env, timeout_s=60)  # fmt: skip
    assert done.code == 0, done.explain()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    return ",".join(out.read_text().split())


def served_between(
    before: Counter[tuple[str, str]], after: Counter[tuple[str, str]]
) -> Counter[tuple[str, str]]:
    """Requests served between two snapshots, without the snapshots' own /metrics requests."""
    served = after - before
    del served[("GET", "/metrics")]
    return served


def delete_test_run(platform: PlatformServer, run_id: str) -> dict[str, int]:
    """Delete a run's data; the counts say what was still there."""
    response = httpx.delete(
        f"{platform.base_url}/api/v1/admin/test-runs/{run_id}",
        headers=platform.admin_headers(),
        timeout=60,
    )
    response.raise_for_status()
    deleted: dict[str, int] = response.json()["deleted"]
    return deleted
