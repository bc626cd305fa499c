"""Pure logic behind the reports: number formatting, downsampling, InfluxDB URLs, line protocol."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from loadlab.reports import CsvReporter, InfluxConfigError, InfluxTarget, parse_influx_target
from loadlab.reports.charts import chart_payload
from loadlab.reports.csv_tables import TIMELINE_FILE
from loadlab.reports.downsample import downsample
from loadlab.reports.formatting import format_number, format_value, threshold_message
from loadlab.reports.line_protocol import line, summary_lines
from loadlab.reports.timeline_table import join_timeline
from loadlab.results import MonitorData, RunSummary, ThresholdResult

FIXTURE = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (612.3, "612.3"),
        (500.0, "500"),
        (1500.04, "1500"),
        (58.256, "58.26"),
        (1.0, "1"),
        (0.25, "0.25"),
        (0.000123, "0.000123"),
        (0.0, "0"),
        (-3.5, "-3.5"),
    ],
    ids=["hundreds", "whole", "thousands", "tens", "one", "fraction", "tiny", "zero", "negative"],
)
def test_format_number(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (612.3, "ms", "612.3 ms"),
        (12_500_000, "bytes_per_s", "12.5 MB/s"),
        (81.5, "percent", "81.5%"),
        (104_857_600, "bytes", "104.9 MB"),
        (24_600_000, "bytes_per_10m", "24.6 MB/10m"),
        (120.0, "per_s", "120/s"),
        (42, "count", "42"),
        (3.0, "furlongs", "3 furlongs"),
        (None, "ms", "no data"),
    ],
    ids=[
        "ms",
        "bytes-per-s",
        "percent",
        "bytes",
        "growth",
        "per-s",
        "count",
        "unknown-unit",
        "no-data",
    ],
)
def test_format_value(value: float | None, unit: str, expected: str) -> None:
    assert format_value(value, unit) == expected


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (
            ThresholdResult("p95 < 500ms", "p95", None, "<", 500.0, "ms", 612.3, "fail"),
            "p95 = 612.3 ms, limit < 500 ms",
        ),
        (
            ThresholdResult(
                "p95[GET /a] < 200ms", "p95", "GET /a", "<", 200.0, "ms", None, "no_data"
            ),
            "p95 of GET /a = no data, limit < 200 ms",
        ),
        (
            ThresholdResult(
                "throughput > 100/s", "throughput", None, ">", 100, "per_s", 58.26, "fail"
            ),
            "throughput = 58.26/s, limit > 100/s",
        ),
        (
            ThresholdResult(
                "checks{tag:x}: rate>0.9", "checks{tag:x}", None, ">", 0.9, "", None, "pass"
            ),
            "checks{tag:x} = no samples, limit > 0.9",
        ),
    ],
    ids=["fail", "no-data-endpoint", "greater-than", "engine-pass-without-samples"],
)
def test_threshold_message(threshold: ThresholdResult, expected: str) -> None:
    assert threshold_message(threshold) == expected


def test_downsample_keeps_short_series_as_they_are() -> None:
    x, series = downsample([0, 1, 2], {"a": [1.0, None, 3.0]}, 10)

    assert x == [0, 1, 2]
    assert series == {"a": [1.0, None, 3.0]}


def test_downsample_bounds_points_and_keeps_every_spike() -> None:
    count = 7_200
    x = list(range(count))
    flat: list[float | None] = [10.0] * count
    flat[3_333] = 900.0  # a one-second spike
    flat[5_000] = 0.5  # and a one-second dip
    gappy: list[float | None] = [None if 1_000 <= i < 2_000 else float(i) for i in range(count)]

    out_x, out = downsample(x, {"flat": flat, "gappy": gappy}, 2_000)

    assert len(out_x) <= 2_000
    assert all(len(values) == len(out_x) for values in out.values())
    assert out_x == sorted(out_x)
    assert max(v for v in out["flat"] if v is not None) == 900.0
    assert min(v for v in out["flat"] if v is not None) == 0.5
    gap = [v for t, v in zip(out_x, out["gappy"], strict=True) if 1_010 <= t < 1_990]
    assert gap
    assert all(v is None for v in gap)
    assert out["gappy"][-1] == float(count - 1)


def test_downsample_refuses_a_useless_budget() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        downsample([0, 1, 2], {}, 1)


def test_chart_payload_of_a_long_run_stays_small() -> None:
    summary = RunSummary.from_dict(json.loads(FIXTURE.read_text()))
    base = summary.monitor.samples[0]
    samples = tuple({**base, "t_s": t + 0.5, "redis_ops_per_s": 3.0} for t in range(7_200))
    monitor = MonitorData(1.0, {}, samples, {})
    long_run = dataclasses.replace(summary, monitor=monitor)

    payload = chart_payload(join_timeline(long_run))

    assert len(payload["x"]) <= 2_000
    assert len(json.dumps(payload)) < 2_000_000
    extra = [c for c in payload["charts"] if c["id"] == "redis_ops_per_s"]
    assert extra == [
        {
            "id": "redis_ops_per_s",
            "title": "redis_ops_per_s",
            "unit": "",  # not in the metric catalogue: no unit is guessed from the name
            "series": [{"column": "redis_ops_per_s", "label": "redis_ops_per_s"}],
        }
    ]
    assert "network" not in {c["id"] for c in payload["charts"]}  # optional, and not measured


@pytest.mark.parametrize(
    ("url", "options", "expected"),
    [
        ("http://localhost:8086/k6", {}, InfluxTarget("http://localhost:8086", database="k6")),
        (
            "https://u:p%40ss@influx.example:8086/db/",
            {},
            InfluxTarget(
                "https://influx.example:8086", database="db", username="u", password="p%40ss"
            ),
        ),
        (
            "http://127.0.0.1:8086",
            {"token": "T", "org": "acme", "bucket": "load"},
            InfluxTarget("http://127.0.0.1:8086", bucket="load", org="acme", token="T"),
        ),
        (
            "http://127.0.0.1:8086/loadlab/autogen",
            {"token": "u:p"},
            InfluxTarget("http://127.0.0.1:8086", bucket="loadlab/autogen", token="u:p"),
        ),
        ("http://[::1]:8086/k6", {}, InfluxTarget("http://[::1]:8086", database="k6")),
    ],
    ids=["k6-form", "basic-auth", "v2-bucket-option", "v2-bucket-in-path", "ipv6"],
)
def test_parse_influx_target(url: str, options: dict[str, str], expected: InfluxTarget) -> None:
    assert parse_influx_target(url, **options) == expected


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("localhost:8086/k6", {}, "not an http"),
        ("ftp://localhost/k6", {}, "not an http"),
        ("http://localhost:8086", {}, "names no database"),
        ("http://localhost:8086/", {"token": "T"}, "needs a bucket"),
        ("http://localhost:99999/k6", {}, "invalid port"),
    ],
    ids=["no-scheme", "ftp", "no-database", "v2-no-bucket", "bad-port"],
)
def test_parse_influx_target_rejects(url: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(InfluxConfigError, match=message) as raised:
        parse_influx_target(url, **options)

    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("tags", "fields", "expected"),
    [
        ({"run": "a"}, {"n": 3, "x": 1.5, "ok": True}, "m,run=a n=3i,x=1.5,ok=true 7"),
        (
            {"name": "GET /a b,c=d", "empty": "", "none": None},
            {"s": 'say "hi" \\ bye'},
            'm,name=GET\\ /a\\ b\\,c\\=d s="say \\"hi\\" \\\\ bye" 7',
        ),
        ({"z": "1", "a": "2"}, {"v": None, "w": float("nan"), "y": 2.0}, "m,a=2,z=1 y=2.0 7"),
        ({"run": "a"}, {"v": None}, None),
    ],
    ids=["types", "escaping", "sorted-tags-skip-missing", "no-fields"],
)
def test_line_protocol(
    tags: dict[str, str | None],
    fields: dict[str, float | int | bool | str | None],
    expected: str | None,
) -> None:
    assert line("m", tags, fields, 7) == expected


def test_summary_lines_cover_the_whole_run() -> None:
    summary = RunSummary.from_dict(json.loads(FIXTURE.read_text()))

    lines = list(summary_lines(summary))

    by_measurement: dict[str, int] = {}
    for text in lines:
        name = text.split(",", 1)[0]
        by_measurement[name] = by_measurement.get(name, 0) + 1
    assert by_measurement == {
        "loadlab_timeline": len(summary.timeline),
        "loadlab_monitor": len(summary.monitor.samples),
        "loadlab_totals": 1,
        "loadlab_endpoint": len(summary.endpoints),
        "loadlab_threshold": len(summary.thresholds),
        "loadlab_error": len(summary.errors),
    }
    first = next(t for t in lines if t.startswith("loadlab_timeline"))
    assert first.endswith(" 1795608000000")  # 2026-11-25T12:00:00Z in milliseconds
    totals = next(t for t in lines if t.startswith("loadlab_totals"))
    assert f"requests={summary.totals.requests}i" in totals
    assert totals.endswith(" 1795608090000")


def test_summary_lines_time_points_from_the_run_clocks_origin(tmp_path: Path) -> None:
    # started_at keeps its milliseconds; t_s counts from the whole second they fall in.
    summary = dataclasses.replace(
        RunSummary.from_dict(json.loads(FIXTURE.read_text())),
        started_at="2026-11-25T12:00:00.750Z",
    )
    origin_ms = 1795608000000  # 2026-11-25T12:00:00Z

    lines = list(summary_lines(summary))

    timeline = [int(t.rsplit(" ", 1)[1]) for t in lines if t.startswith("loadlab_timeline")]
    assert timeline == [origin_ms + point.t_s * 1000 for point in summary.timeline]
    monitor = [int(t.rsplit(" ", 1)[1]) for t in lines if t.startswith("loadlab_monitor")]
    assert monitor[0] == origin_ms + 370  # the first sample's t_s is 0.37
    seconds = [s["t_s"] for s in summary.monitor.samples]
    assert monitor == [origin_ms + round(t * 1000) for t in seconds if t is not None]
    CsvReporter().write(summary, tmp_path)
    with open(tmp_path / TIMELINE_FILE, newline="") as file:
        stamps = [int(row["Timestamp"]) * 1000 for row in csv.DictReader(file)]
    assert stamps == timeline  # the same seconds as timeline.csv's rows
