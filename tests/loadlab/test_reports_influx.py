"""The InfluxDB output against a real `influxd` started by the tests, queried back.

The server runs with authentication on, so the basic-auth (1.x) and token (2.x) paths are real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from influx_server import needs_influxd, running_influxd
from loadlab.reports import InfluxError, parse_influx_target, write_reports
from loadlab.reports.html import HTML_FILE
from loadlab.reports.influx import InfluxReporter
from loadlab.results import RunSummary
from platform_server import free_port

FIXTURE = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"
USER, PASSWORD = "loadlab", "s3cret"

pytestmark = needs_influxd


@dataclass(frozen=True)
class Influx:
    base_url: str
    version: str

    def query(self, database: str, q: str) -> list[dict[str, Any]]:
        """Rows of the first series of the query's result, as dicts."""
        response = httpx.get(
            f"{self.base_url}/query",
            params={"db": database, "q": q, "epoch": "ms", "u": USER, "p": PASSWORD},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        result = response.json()["results"][0]
        assert "error" not in result, result
        series = result.get("series", [])
        if not series:
            return []
        columns = series[0]["columns"]
        return [dict(zip(columns, values, strict=True)) for values in series[0]["values"]]

    def admin(self, q: str) -> None:
        response = httpx.post(
            f"{self.base_url}/query", data={"q": q}, auth=(USER, PASSWORD), timeout=10
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influx]:
    with running_influxd(tmp_path_factory.mktemp("influxd"), auth=True) as server:
        # With no user yet, InfluxDB accepts exactly this one statement unauthenticated.
        response = httpx.post(
            f"{server.base_url}/query",
            data={"q": f"CREATE USER {USER} WITH PASSWORD '{PASSWORD}' WITH ALL PRIVILEGES"},
            timeout=10,
        )
        response.raise_for_status()
        yield Influx(server.base_url, server.version)


def _summary() -> RunSummary:
    return RunSummary.from_dict(json.loads(FIXTURE.read_text()))


def _supports_v2_write(version: str) -> bool:
    """InfluxDB 1.8 added the 2.x-compatible `/api/v2/write` endpoint."""
    parts = version.lstrip("v").split("~")[0].split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return False
    return (major, minor) >= (1, 8)


def _assert_run_is_stored(influx: Influx, database: str, summary: RunSummary) -> None:
    where = f"WHERE run_id = '{summary.run_id}'"
    [totals] = influx.query(database, f"SELECT * FROM loadlab_totals {where}")
    assert totals["requests"] == summary.totals.requests
    assert totals["failures"] == summary.totals.failures
    assert totals["passed"] is summary.verdict.passed
    assert totals["exit_code"] == summary.verdict.exit_code
    [timeline] = influx.query(
        database,
        f"SELECT COUNT(user_count), SUM(requests), SUM(failures) FROM loadlab_timeline {where}",
    )
    assert timeline["count"] == len(summary.timeline)
    assert timeline["sum"] == summary.totals.requests
    assert timeline["sum_1"] == summary.totals.failures
    [endpoint_count] = influx.query(
        database, f"SELECT COUNT(requests), SUM(requests) FROM loadlab_endpoint {where}"
    )
    assert endpoint_count["count"] == len(summary.endpoints)
    assert endpoint_count["sum"] == summary.totals.requests
    [monitor] = influx.query(
        database, f"SELECT COUNT(target_cpu_percent) FROM loadlab_monitor {where}"
    )
    assert monitor["count"] == len(summary.monitor.samples)
    thresholds = influx.query(
        database, f"SELECT measured, expression FROM loadlab_threshold {where} AND status = 'fail'"
    )
    assert sorted(t["expression"] for t in thresholds) == sorted(
        t.expression for t in summary.thresholds if t.status == "fail"
    )


def test_v1_write_creates_the_database_and_stores_the_run(influx: Influx, tmp_path: Path) -> None:
    summary = _summary()
    target = parse_influx_target(f"http://{USER}:{PASSWORD}@{influx.base_url[7:]}/loadlab_v1")

    written = write_reports(summary, tmp_path, influxdb=target)

    assert (tmp_path / HTML_FILE) in written
    _assert_run_is_stored(influx, "loadlab_v1", summary)


def test_v2_write_with_a_token(influx: Influx, tmp_path: Path) -> None:
    summary = _summary()
    influx.admin('CREATE DATABASE "loadlab_v2"')
    # InfluxDB 1.8+ serves /api/v2/write: token "user:password", bucket "database/retention".
    target = parse_influx_target(
        influx.base_url, token=f"{USER}:{PASSWORD}", bucket="loadlab_v2/autogen", org="-"
    )
    assert target.api_version == 2

    if _supports_v2_write(influx.version):
        InfluxReporter(target).write(summary, tmp_path)
        _assert_run_is_stored(influx, "loadlab_v2", summary)
    else:
        # An older server has no such endpoint: the reporter must say so, not pretend.
        with pytest.raises(InfluxError, match="refused the write: HTTP 404"):
            InfluxReporter(target).write(summary, tmp_path)


def test_wrong_password_fails_after_the_files_are_written(influx: Influx, tmp_path: Path) -> None:
    target = parse_influx_target(f"http://{USER}:wrong@{influx.base_url[7:]}/loadlab_v1")

    with pytest.raises(InfluxError, match="HTTP 401") as raised:
        write_reports(_summary(), tmp_path, influxdb=target)

    assert raised.value.hint is not None
    assert "user:password" in raised.value.hint
    assert (tmp_path / HTML_FILE).stat().st_size > 0


def test_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    target = parse_influx_target(f"http://127.0.0.1:{free_port()}/loadlab")

    with pytest.raises(InfluxError, match=r"could not write to InfluxDB at http://127\.0\.0\.1"):
        InfluxReporter(target).write(_summary(), tmp_path)
