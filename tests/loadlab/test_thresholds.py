"""Threshold expressions: parsing the user's words, and judging measured values against them."""

from __future__ import annotations

import pytest

from loadlab.errors import UsageError
from loadlab.results import EndpointStats, LatencyStats
from loadlab.thresholds import evaluate, parse_threshold, parse_thresholds
from loadlab.units import Measured


@pytest.mark.parametrize(
    ("expression", "metric", "endpoint", "op", "limit", "unit"),
    [
        pytest.param("p95 < 500ms", "p95", None, "<", 500.0, "ms", id="p95"),
        pytest.param("p99 < 1000ms", "p99", None, "<", 1000.0, "ms", id="p99"),
        pytest.param("p99<1s", "p99", None, "<", 1000.0, "ms", id="no-spaces-seconds"),
        pytest.param("error_rate < 0.1%", "error_rate", None, "<", 0.1, "percent", id="error-rate"),
        pytest.param(
            "throughput > 100/s", "throughput", None, ">", 100.0, "per_s", id="throughput"
        ),
        pytest.param("cpu < 80%", "cpu", None, "<", 80.0, "percent", id="cpu"),
        pytest.param(
            "memory_growth < 100MB/10m",
            "memory_growth",
            None,
            "<",
            100e6,
            "bytes_per_10m",
            id="memory",
        ),
        pytest.param("failures == 0", "failures", None, "==", 0.0, "count", id="no-failures"),
        pytest.param(
            "p95[GET /api/v1/workspaces] <= 200ms",
            "p95",
            "GET /api/v1/workspaces",
            "<=",
            200.0,
            "ms",
            id="one-endpoint",
        ),
        pytest.param(
            "server_p95 < 300ms", "server_p95", None, "<", 300.0, "ms", id="monitor-metric"
        ),
    ],
)
def test_parse(
    expression: str, metric: str, endpoint: str | None, op: str, limit: float, unit: str
) -> None:
    threshold = parse_threshold(expression)
    assert (threshold.metric, threshold.endpoint, threshold.operator) == (metric, endpoint, op)
    assert threshold.limit == pytest.approx(limit)
    assert threshold.unit == unit
    assert threshold.expression == expression.strip()


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("p96 < 500ms", "unknown threshold metric 'p96'", id="unknown-metric"),
        pytest.param("p95 < 500", "needs a unit", id="latency-without-unit"),
        pytest.param("error_rate < 0.1", "bad percentage", id="rate-without-percent"),
        pytest.param("p95 about 500ms", "bad threshold", id="no-operator"),
        pytest.param("cpu[/health] < 80%", "not per endpoint", id="target-metric-per-endpoint"),
        pytest.param("throughput > 100", "bad rate", id="rate-without-period"),
    ],
)
def test_parse_refuses(expression: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_threshold(expression)


def test_every_bad_expression_is_named_at_once() -> None:
    with pytest.raises(UsageError) as raised:
        parse_thresholds(["p95 < 1ms", "p96 < 1ms", "cpu < 80"])
    assert "p96" in str(raised.value)
    assert "cpu < 80" in str(raised.value)


def _stats(requests: int, failures: int = 0, p95: float = 100.0, rps: float = 50.0) -> LatencyStats:
    return LatencyStats(
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 0.0,
        rps=rps,
        mean_ms=50.0,
        min_ms=1.0,
        max_ms=900.0,
        p50_ms=40.0,
        p90_ms=90.0,
        p95_ms=p95,
        p99_ms=300.0,
        p999_ms=800.0,
    )


@pytest.mark.parametrize(
    ("expression", "totals", "aggregates", "status", "measured"),
    [
        pytest.param("p95 < 500ms", _stats(1000), {}, "pass", 100.0, id="p95-pass"),
        pytest.param("p95 < 50ms", _stats(1000), {}, "fail", 100.0, id="p95-fail"),
        pytest.param("p95 < 500ms", _stats(0), {}, "no_data", None, id="no-requests"),
        pytest.param("p99 < 500ms", _stats(50), {}, "inconclusive", None, id="too-few-for-p99"),
        pytest.param("error_rate < 0.1%", _stats(10_000, 5), {}, "pass", 0.05, id="error-pass"),
        pytest.param("error_rate < 0.1%", _stats(10_000, 50), {}, "fail", 0.5, id="error-fail"),
        pytest.param(
            "error_rate < 0.1%", _stats(600), {}, "inconclusive", None, id="error-too-few"
        ),
        pytest.param("error_rate < 0.1%", _stats(600, 60), {}, "fail", 10.0, id="error-over-few"),
        pytest.param("failures == 0", _stats(10), {}, "pass", 0.0, id="no-failures"),
        pytest.param("failures == 0", _stats(10, 1), {}, "fail", 1.0, id="one-failure"),
        pytest.param("throughput > 100/s", _stats(5000, rps=40.0), {}, "fail", 40.0, id="slow"),
        pytest.param(
            "cpu < 80%", _stats(10), {"cpu": Measured(35.0, "percent")}, "pass", 35.0, id="cpu-pass"
        ),
        pytest.param(
            "memory_growth < 100MB/10m",
            _stats(10),
            {"memory_growth": Measured(2e8, "bytes_per_10m")},
            "fail",
            2e8,
            id="memory-fail",
        ),
        pytest.param("cpu < 80%", _stats(10), {}, "no_data", None, id="cpu-not-measured"),
        pytest.param(
            "cpu < 80%",
            _stats(10),
            {"cpu": Measured(None, "percent", "no pid")},
            "no_data",
            None,
            id="cpu-no-data",
        ),
    ],
)
def test_evaluate(
    expression: str,
    totals: LatencyStats,
    aggregates: dict[str, Measured],
    status: str,
    measured: float | None,
) -> None:
    (result,) = evaluate(
        parse_thresholds([expression]), totals=totals, endpoints=(), aggregates=aggregates
    )
    assert result.status == status
    assert result.measured == (None if measured is None else pytest.approx(measured))
    assert result.expression == expression
    if status != "pass":
        assert result.detail


def test_evaluate_one_endpoint() -> None:
    slow = EndpointStats(**{**_stats(500, p95=700.0).__dict__, "method": "GET", "name": "/slow"})
    fast = EndpointStats(**{**_stats(500, p95=5.0).__dict__, "method": "GET", "name": "/fast"})
    results = evaluate(
        parse_thresholds(["p95[GET /slow] < 500ms", "p95[/fast] < 500ms", "p95[/gone] < 1s"]),
        totals=_stats(1000),
        endpoints=(slow, fast),
        aggregates={},
    )
    assert [r.status for r in results] == ["fail", "pass", "no_data"]
    assert results[0].endpoint == "GET /slow"
