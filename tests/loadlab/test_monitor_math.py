"""The monitor's pure arithmetic: histogram percentiles, slopes, steady windows, aggregates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest

from loadlab.monitor import MonitorConfig, MonitorResult, aggregate_names
from loadlab.monitor.aggregates import least_squares_slope, steady_window
from loadlab.monitor.database import hit_rate, libpq_url, redact
from loadlab.monitor.health import SourceHealth
from loadlab.monitor.prometheus import Buckets, bucket_delta, bucket_quantile, parse_metrics
from loadlab.monitor.series import unit_of

INF = math.inf


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        pytest.param(0.5, ((0.1, 0.0), (0.2, 10.0), (INF, 10.0)), 0.15, id="median-mid-bucket"),
        pytest.param(0.95, ((0.1, 0.0), (0.2, 10.0), (INF, 10.0)), 0.195, id="p95-same-bucket"),
        pytest.param(0.5, ((0.1, 4.0), (0.2, 8.0), (INF, 8.0)), 0.1, id="rank-on-bound"),
        pytest.param(0.25, ((0.1, 4.0), (0.2, 8.0), (INF, 8.0)), 0.05, id="first-bucket-from-zero"),
        pytest.param(0.99, ((0.1, 5.0), (0.2, 5.0), (INF, 10.0)), 0.2, id="inf-bucket-gives-top"),
        pytest.param(0.5, ((0.1, 0.0), (INF, 0.0)), None, id="empty-histogram"),
        pytest.param(0.5, (), None, id="no-buckets"),
        pytest.param(
            0.9, ((0.01, 50.0), (0.05, 90.0), (0.1, 100.0), (INF, 100.0)), 0.05, id="p90-on-edge"
        ),
    ],
)
def test_bucket_quantile(q: float, buckets: Buckets, expected: float | None) -> None:
    found = bucket_quantile(q, buckets)
    if expected is None:
        assert found is None
    else:
        assert found == pytest.approx(expected)


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        pytest.param(((0.1, 5.0), (INF, 9.0)), None, ((0.1, 5.0), (INF, 9.0)), id="no-previous"),
        pytest.param(
            ((0.1, 5.0), (INF, 9.0)), ((0.1, 2.0), (INF, 3.0)), ((0.1, 3.0), (INF, 6.0)), id="delta"
        ),
        pytest.param(
            ((0.1, 1.0), (INF, 2.0)), ((0.1, 2.0), (INF, 3.0)), ((0.1, 1.0), (INF, 2.0)), id="reset"
        ),
    ],
)
def test_bucket_delta(now: Buckets, before: Buckets | None, expected: Buckets) -> None:
    assert bucket_delta(now, before) == expected


@pytest.mark.parametrize(
    ("xs", "ys", "expected"),
    [
        pytest.param([0, 1, 2, 3], [10, 12, 14, 16], 2.0, id="exact-line"),
        pytest.param([0, 1, 2, 3], [5, 5, 5, 5], 0.0, id="flat"),
        pytest.param([0, 1, 2, 3], [4, 3, 2, 1], -1.0, id="falling"),
        pytest.param([0, 1, 2, 3], [0, 2, 0, 2], 0.4, id="noisy"),
        pytest.param([1], [1], None, id="one-point"),
        pytest.param([2, 2], [1, 5], None, id="same-x"),
    ],
)
def test_least_squares_slope(xs: list[float], ys: list[float], expected: float | None) -> None:
    found = least_squares_slope(xs, ys)
    assert found == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("times", "window", "expected"),
    [
        pytest.param([1.0, 2.0, 3.0, 4.0], (1.0, 3.0), (1, 2), id="midpoint-inside"),
        pytest.param([1.004, 2.003, 3.01], (0.0, 3.0), (0, 1, 2), id="late-ticks-still-in"),
        pytest.param([1.0, 2.0], (5.0, 9.0), (), id="after-the-run"),
    ],
)
def test_steady_window(
    times: list[float], window: tuple[float, float], expected: tuple[int, ...]
) -> None:
    samples = [{"t_s": t} for t in times]
    assert steady_window(samples, 1.0, *window).indices == expected


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        pytest.param("target_cpu_percent", "percent", id="catalogue"),
        pytest.param("server_error_rate", "percent", id="rate-is-percent"),
        pytest.param("cache_hit_rate", "percent", id="catalogue"),
        pytest.param("foo_bytes_per_s", "count", id="no-guessing-from-suffix"),
        pytest.param("foo_wait_ms", "count", id="no-guessing-ms"),
        pytest.param("foo", "count", id="bare"),
    ],
)
def test_unit_of(name: str, unit: str) -> None:
    assert unit_of(name) == unit


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        pytest.param({"h": 90.0, "m": 10.0}, {"h": 0.0, "m": 0.0}, 90.0, id="ninety"),
        pytest.param({"h": 5.0, "m": 5.0}, {"h": 5.0, "m": 5.0}, None, id="no-lookups"),
        pytest.param({"h": 5.0}, {"h": 0.0, "m": 0.0}, None, id="missing-counter"),
        pytest.param({"h": 1.0, "m": 0.0}, {"h": 5.0, "m": 0.0}, None, id="reset"),
    ],
)
def test_hit_rate(now: dict[str, float], before: dict[str, float], expected: float | None) -> None:
    assert hit_rate(now, before, "h", "m") == expected


@pytest.mark.parametrize(
    ("url", "libpq", "shown"),
    [
        pytest.param(
            "postgresql+psycopg://u:secret@h:5432/d",
            "postgresql://u:secret@h:5432/d",
            "postgresql+psycopg://u:***@h:5432/d",
            id="sqlalchemy-driver",
        ),
        pytest.param(
            "postgres://u@h/d", "postgresql://u@h/d", "postgres://u@h/d", id="short-scheme"
        ),
    ],
)
def test_database_urls(url: str, libpq: str, shown: str) -> None:
    assert libpq_url(url) == libpq
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        pytest.param(MonitorConfig("127.0.0.1:8000", None), "must start with http", id="no-scheme"),
        pytest.param(MonitorConfig("http://h", None, interval_s=0), "interval", id="interval"),
        pytest.param(MonitorConfig("http://h", None, cores=0), "cores", id="cores"),
        pytest.param(MonitorConfig("http://h", -3), "pid", id="pid"),
        pytest.param(MonitorConfig("http://h", None, db_url="mysql://x"), "postgresql", id="db"),
    ],
)
def test_config_problems(config: MonitorConfig, problem: str) -> None:
    problems = config.problems()
    assert len(problems) == 1
    assert problem in problems[0]


def test_config_reports_every_problem_at_once() -> None:
    config = MonitorConfig("ftp://h", -1, db_url="mysql://x", interval_s=100, cores=-1)
    assert len(config.problems()) == 5
    assert MonitorConfig("http://127.0.0.1:1", 1).problems() == []


def test_source_health_warns_once_and_counts_partial_failures() -> None:
    health = SourceHealth("app")
    health.ok()
    assert health.new_warning() is None
    health.fail("no /metrics at x: HTTP 404")
    health.fail("another problem")
    assert health.new_warning() == "no /metrics at x: HTTP 404"
    assert health.new_warning() is None
    assert health.summary() == "no /metrics at x: HTTP 404 (2 of 3 reads failed)"


def test_parse_metrics_sums_over_labels_and_merges_buckets() -> None:
    scrape = parse_metrics(
        "# TYPE r_total counter\n"
        'r_total{route="/a",status="200"} 3\n'
        'r_total{route="/a",status="500"} 1\n'
        'r_total{route="/b",status="200"} 6\n'
        "# TYPE d histogram\n"
        'd_bucket{route="/a",le="0.1"} 1\n'
        'd_bucket{route="/a",le="+Inf"} 4\n'
        'd_bucket{route="/b",le="0.1"} 6\n'
        'd_bucket{route="/b",le="+Inf"} 6\n'
    )
    assert scrape.total("r_total") == 10
    assert scrape.total("r_total", lambda labels: labels["status"] == "500") == 1
    assert scrape.total("missing") is None
    assert scrape.buckets("d") == ((0.1, 7.0), (INF, 10.0))
    assert scrape.buckets("d", lambda labels: labels["route"] == "/a") == ((0.1, 1.0), (INF, 4.0))
    assert set(scrape.groups("r_total", ("route",))) == {("/a",), ("/b",)}


def test_parse_metrics_rejects_text_that_is_not_prometheus() -> None:
    with pytest.raises(ValueError, match="invalid"):
        parse_metrics("<html>not metrics</html>\n")


def _result(
    samples: Sequence[Mapping[str, float | None]],
    *,
    cores: float = 1.0,
    sources: dict[str, str] | None = None,
    counters: tuple[dict[str, float], ...] = (),
    histograms: tuple[dict[str, Buckets], ...] = (),
) -> MonitorResult:
    return MonitorResult(
        interval_s=1.0,
        sources=sources or {"app": "ok", "system": "ok", "database": "ok"},
        samples=tuple(dict(sample) for sample in samples),
        cores=cores,
        counters=counters,
        histograms=histograms,
    )


def test_cpu_is_the_steady_mean_over_allowed_cores_and_skips_ramp_up() -> None:
    # Ramp-up (t <= 3) burns 190 %; the steady phase burns 100 % of one core on 2 allowed cores.
    samples = [
        {"t_s": float(t), "target_cpu_percent": 190.0 if t <= 3 else 100.0} for t in range(1, 11)
    ]
    found = _result(samples, cores=2.0).aggregates(3.0, 10.0)
    assert found["cpu"].value == pytest.approx(50.0)
    assert found["cpu"].unit == "percent"
    assert "2 core(s)" in (found["cpu"].detail or "")
    assert found["target_cpu_percent"].value == pytest.approx(100.0)
    assert found["target_cpu_percent_max"].value == pytest.approx(100.0)


def test_memory_growth_is_the_rss_slope_scaled_to_ten_minutes() -> None:
    # 1 MB per second of steady phase = 600 MB per 10 minutes; ramp-up noise is ignored.
    # The sample at t=3 measured the second 2..3, still ramp-up: the first steady one is t=4.
    samples = [
        {"t_s": float(t), "target_rss_bytes": (500e6 if t < 3 else 100e6 + t * 1e6)}
        for t in range(1, 21)
    ]
    found = _result(samples).aggregates(3.0, 20.0)
    growth = found["memory_growth"]
    assert growth.value == pytest.approx(600e6)
    assert growth.unit == "bytes_per_10m"
    assert "104.0 MB at start" in (growth.detail or "")
    assert "120.0 MB at end" in (growth.detail or "")
    data = _result(samples).to_data(3.0, 20.0)
    assert data.summary["rss_start_bytes"] == 104e6
    assert data.summary["rss_end_bytes"] == 120e6
    assert found["target_rss_max"].value == 120e6


def test_window_percentiles_and_ratios_come_from_cumulative_counters() -> None:
    samples = [{"t_s": float(t)} for t in range(1, 5)]
    # Cumulative readings: baseline then one per sample. Steady = samples 2..4 (t 2, 3, 4).
    histograms: list[dict[str, Buckets]] = [
        {"server_duration": ((0.1, 0.0), (0.2, 0.0), (INF, 0.0))},
        {"server_duration": ((0.1, 100.0), (0.2, 100.0), (INF, 100.0))},  # ramp-up: all fast
        {"server_duration": ((0.1, 100.0), (0.2, 110.0), (INF, 110.0))},
        {"server_duration": ((0.1, 100.0), (0.2, 120.0), (INF, 120.0))},
        {"server_duration": ((0.1, 100.0), (0.2, 130.0), (INF, 130.0))},
    ]
    counters = [
        {"server_requests": 0.0, "server_errors": 0.0, "cache_hits": 0.0, "cache_misses": 0.0},
        {"server_requests": 100.0, "server_errors": 0.0, "cache_hits": 0.0, "cache_misses": 50.0},
        {"server_requests": 110.0, "server_errors": 1.0, "cache_hits": 8.0, "cache_misses": 52.0},
        {"server_requests": 120.0, "server_errors": 2.0, "cache_hits": 16.0, "cache_misses": 54.0},
        {"server_requests": 130.0, "server_errors": 3.0, "cache_hits": 24.0, "cache_misses": 56.0},
    ]
    found = _result(samples, histograms=tuple(histograms), counters=tuple(counters)).aggregates(
        1.0, 4.0
    )
    assert found["server_p50"].value == pytest.approx(150.0)  # all 30 steady answers in 0.1..0.2
    assert found["server_error_rate"].value == pytest.approx(10.0)
    assert found["server_error_rate"].unit == "percent"
    assert found["cache_hit_rate"].value == pytest.approx(80.0)
    assert found["db_pool_wait_p95"].value is None
    assert (found["db_pool_wait_p95"].detail or "").startswith("no data")


def test_missing_source_gives_no_data_with_the_reason() -> None:
    samples = [{"t_s": float(t), "target_cpu_percent": None} for t in range(1, 6)]
    sources = {"app": "no /metrics at http://x/metrics: HTTP 404", "system": "ok", "database": "ok"}
    found = _result(samples, sources=sources).aggregates(0.0, 5.0)
    assert found["server_p95"].value is None
    assert found["server_p95"].detail == "no data: no /metrics at http://x/metrics: HTTP 404"
    assert found["server_rps"].detail == "no data: no /metrics at http://x/metrics: HTTP 404"
    assert found["cpu"].value is None
    assert "no values in the steady phase" in (found["cpu"].detail or "")
    assert found["memory_growth"].value is None
    assert "no values in the steady phase" in (found["memory_growth"].detail or "")


def test_a_steady_phase_after_the_last_sample_is_no_data() -> None:
    samples = [{"t_s": 1.0, "target_cpu_percent": 50.0, "target_rss_bytes": 1e6}]
    found = _result(samples).aggregates(10.0, 20.0)
    assert found["cpu"].value is None
    assert "no monitor samples in the steady phase 10..20 s" in (found["cpu"].detail or "")


def test_every_documented_aggregate_name_is_computed() -> None:
    found = _result([{"t_s": 1.0}]).aggregates(0.0, 1.0)
    assert set(aggregate_names()) <= set(found)
    for name in ("cpu", "memory_growth", "db_pool_wait_p95", "cache_hit_rate", "server_p95"):
        assert name in aggregate_names()


def test_to_data_is_json_safe() -> None:
    samples = [{"t_s": 1.0, "target_cpu_percent": math.nan, "host_cpu_percent": math.inf}]
    data = _result(samples).to_data(0.0, 1.0)
    assert data.samples[0]["target_cpu_percent"] is None
    assert data.samples[0]["host_cpu_percent"] is None


def test_every_aggregate_carries_the_unit_thresholds_parse_its_limit_in() -> None:
    from loadlab.thresholds import METRICS

    samples = [
        {"t_s": float(t), **{name: 1.0 for name in ("target_cpu_percent", "target_rss_bytes")}}
        for t in range(1, 4)
    ]
    found = _result(samples).aggregates(0.0, 3.0)
    mismatched = {
        name: (measured.unit, METRICS[name].unit)
        for name, measured in found.items()
        if name in METRICS and measured.unit != METRICS[name].unit
    }
    assert mismatched == {}
    assert set(aggregate_names()) <= set(METRICS)


def test_docs_name_every_series_and_aggregate() -> None:
    from pathlib import Path

    from loadlab.monitor.series import SERIES, SPECIAL_AGGREGATES

    text = (Path(__file__).parents[2] / "docs" / "monitoring.md").read_text()
    missing = [s.name for s in SERIES if f"`{s.name}" not in text]
    missing += [name for name in SPECIAL_AGGREGATES if f"`{name}" not in text]
    assert missing == []
