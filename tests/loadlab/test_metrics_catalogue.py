"""The one metric catalogue: a unit and a scale per name, for thresholds, monitor and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadlab import metrics
from loadlab.histograms import RunStats
from loadlab.monitor.series import unit_of as monitor_unit_of
from loadlab.reports.charts import SeriesSpec
from loadlab.reports.formatting import format_value as report_format_value
from loadlab.results import SCHEMA_VERSION, RunSummary
from loadlab.thresholds import parse_threshold

FIXTURE_V1 = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        pytest.param(12_500_000, "bytes_per_s", "12.5 MB/s", id="bytes-per-s"),
        pytest.param(950, "bytes_per_s", "950 B/s", id="small-bytes-per-s"),
        pytest.param(190_730_240, "bytes", "190.7 MB", id="bytes"),
        pytest.param(2_500_000_000, "bytes", "2.5 GB", id="gigabytes"),
        pytest.param(24_600_000, "bytes_per_10m", "24.6 MB/10m", id="growth"),
        pytest.param(0.324, "percent", "0.324%", id="percent"),
        pytest.param(612.3, "ms", "612.3 ms", id="ms"),
        pytest.param(None, "percent", "no data", id="none"),
    ],
)
def test_format_value(value: float | None, unit: str, shown: str) -> None:
    assert metrics.format_value(value, unit) == shown
    assert report_format_value(value, unit) == shown  # the reports use the same function


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        pytest.param("target_disk_read_bytes_per_s", "bytes_per_s", id="disk"),
        pytest.param("server_error_rate", "percent", id="server-error-rate"),
        pytest.param("server_error_rate_max", "percent", id="its-max"),
        pytest.param("error_rate", "percent", id="client-error-rate"),
        pytest.param("rss_start_bytes", "bytes", id="monitor-summary-key"),
        pytest.param("steady_from_s", "s", id="seconds"),
    ],
)
def test_one_unit_per_name_everywhere(name: str, unit: str) -> None:
    assert metrics.unit_of(name) == unit
    assert monitor_unit_of(name) == unit


def test_charts_take_their_scale_from_the_catalogue() -> None:
    assert metrics.chart_unit("target_disk_read_bytes_per_s") == ("KB/s", 1e-3)
    assert SeriesSpec("target_disk_read_bytes_per_s", "read").scale == 1e-3
    assert SeriesSpec("server_error_rate", "errors").scale == 1.0  # already percent


@pytest.mark.parametrize(
    ("expression", "limit"),
    [
        pytest.param("server_error_rate_max < 1%", 1.0, id="series-max-in-percent"),
        pytest.param("server_error_rate < 1%", 1.0, id="aggregate"),
        pytest.param("error_rate < 0.1%", 0.1, id="client"),
        pytest.param("target_disk_read_bytes_per_s_max < 10MB/s", 10e6, id="bytes-per-s"),
    ],
)
def test_limits_parse_in_the_catalogue_unit(expression: str, limit: float) -> None:
    threshold = parse_threshold(expression)
    assert threshold.limit == pytest.approx(limit)
    assert threshold.unit == metrics.unit_of(threshold.metric)


def test_totals_error_rate_is_percent_like_its_threshold() -> None:
    stats = RunStats(1_000)
    for i in range(4):
        stats.add_sample(1_000, "GET", "/x", 5.0, failed=i == 0)
    totals = stats.finish()[0]
    assert totals.error_rate == pytest.approx(25.0)


def test_a_version_1_summary_is_still_readable_with_percent_rates() -> None:
    data = json.loads(FIXTURE_V1.read_text())
    assert data["schema_version"] == 1
    summary = RunSummary.from_dict(data)
    assert summary.schema_version == SCHEMA_VERSION == 2
    assert summary.totals.error_rate == pytest.approx(100 * data["totals"]["error_rate"])
    (error_rate,) = [t for t in summary.thresholds if t.metric == "error_rate"]
    assert error_rate.unit == "percent"
    assert error_rate.limit == pytest.approx(0.1)


def test_no_unit_is_guessed_from_a_suffix() -> None:
    assert metrics.unit_of("redis_latency_ms") == "count"
