"""The seed's `k6 run --out influxdb=http://localhost:8086/k6 k6_script.js`, into a real influxd.

The seed's URL names localhost:8086; the test starts its own InfluxDB 1.x on free loopback ports
and gives k6 that URL instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tool_runs import run_tool, tool_env

from influx_server import needs_influxd, running_influxd
from platform_server import PlatformServer

pytestmark = needs_influxd


@pytest.fixture
def influxdb(tmp_path: Path) -> Iterator[str]:
    """A throwaway influxd; yields its base URL."""
    with running_influxd(tmp_path) as server:
        yield server.base_url


def influx_values(base_url: str, query: str) -> list[list[Any]]:
    response = httpx.get(f"{base_url}/query", params={"db": "k6", "q": query}, timeout=10)
    response.raise_for_status()
    series = response.json()["results"][0].get("series", [])
    return [row for one in series for row in one["values"]]


def test_out_influxdb_stores_named_requests(
    platform: PlatformServer, influxdb: str, tmp_path: Path
) -> None:
    # --no-thresholds: whether 3 s meet the script's latency thresholds depends on the machine
    options = ["--no-thresholds", "--vus", "3", "--duration", "3s"]
    options += ["--out", f"influxdb={influxdb}/k6"]
    run = run_tool(
        ["k6", "run", "--quiet", "-e", f"BASE_URL={platform.base_url}", *options, "k6_script.js"],
        tool_env(platform, LOAD_TEST_THINK_SCALE="0.2"),
        tmp_path,
    )

    assert run.code == 0, run.explain()
    tags = influx_values(influxdb, 'SHOW TAG VALUES FROM http_reqs WITH KEY = "name"')
    names = {row[1] for row in tags}
    # what every user type requests first: PlatformUser, AdminUser, HeavyUser
    assert {"/api/v1/workspaces", "/api/v1/auth/me", "/api/v1/datasets"} <= names, names
    assert influx_values(influxdb, "SELECT count(value) FROM checks")[0][1] > 0
    assert influx_values(influxdb, "SELECT count(value) FROM checks WHERE value = 0") == []
