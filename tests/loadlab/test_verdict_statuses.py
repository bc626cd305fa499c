"""Inconclusive and not-measured thresholds: what each status does to the verdict and its words."""

from __future__ import annotations

import pytest

from loadlab.results import LatencyStats, ThresholdResult, ThresholdStatus
from loadlab.thresholds import evaluate, parse_thresholds
from loadlab.verdict import decide, threshold_lines


def _result(status: ThresholdStatus, expression: str = "p95 < 500ms") -> ThresholdResult:
    measured = 12.0 if status in ("pass", "fail") else None
    return ThresholdResult(expression, "p95", None, "<", 500.0, "ms", measured, status, "why")


@pytest.mark.parametrize(
    ("statuses", "code", "words"),
    [
        pytest.param(["inconclusive"], 5, "too few requests to judge 1 of 1 threshold", id="inc"),
        pytest.param(["pass", "inconclusive"], 5, "1 of 2 thresholds", id="pass-and-inc"),
        pytest.param(["fail", "inconclusive"], 1, "1 inconclusive", id="fail-beats-inc"),
        pytest.param(["no_data", "inconclusive"], 1, "(no data)", id="no-data-beats-inc"),
        pytest.param(["pass", "not_measured"], 0, "1 threshold passed (1 threshold not", id="nm"),
        pytest.param(["not_measured"], 0, "no thresholds were judged", id="only-nm"),
        pytest.param(["pass", "pass"], 0, "all 2 thresholds passed", id="plural"),
        pytest.param(["pass"], 0, "1 threshold passed", id="singular"),
    ],
)
def test_statuses_decide_the_exit_code(
    statuses: list[ThresholdStatus], code: int, words: str
) -> None:
    verdict = decide(
        [_result(s, f"t{i} < 1ms") for i, s in enumerate(statuses)],
        engine_failure=None,
        interrupted=False,
        generator_cpu_percent_max=None,
    )
    assert verdict.exit_code == code
    assert verdict.passed is (code == 0)
    assert words in verdict.reason


def test_not_measured_is_named_in_the_verdict() -> None:
    verdict = decide(
        [_result("pass"), _result("not_measured", "cpu < 80%")],
        engine_failure=None,
        interrupted=False,
        generator_cpu_percent_max=None,
    )
    assert verdict.reason.endswith("(1 threshold not measured: cpu < 80%)")


def _stats(requests: int, rps: float) -> LatencyStats:
    return LatencyStats(requests, 0, 0.0, rps, 5.0, 1.0, 9.0, 5.0, 8.0, 8.5, 9.0, 9.0)


@pytest.mark.parametrize(
    ("expression", "requests", "rps", "longer"),
    [
        pytest.param("p99 < 1000ms", 89, 44.5, "run about 1s longer at 44.5 req/s", id="p99"),
        pytest.param("p95 < 1s", 2, 1.0, "run about 18s longer at 1 req/s", id="p95"),
        pytest.param(
            "error_rate < 0.1%", 600, 5.0, "run about 8m longer at 5 req/s", id="error-rate"
        ),
    ],
)
def test_too_few_requests_is_inconclusive_and_says_how_much_longer(
    expression: str, requests: int, rps: float, longer: str
) -> None:
    (result,) = evaluate(
        parse_thresholds([expression]), totals=_stats(requests, rps), endpoints=(), aggregates={}
    )
    assert result.status == "inconclusive"
    assert result.measured is None
    assert result.detail is not None
    assert result.detail.endswith(longer)


def test_a_default_without_its_source_is_not_measured() -> None:
    thresholds = parse_thresholds(["cpu < 80%", "requests > 0"], explicit=False)
    cpu, requests = evaluate(
        thresholds,
        totals=_stats(10, 5.0),
        endpoints=(),
        aggregates={},
        not_measured={"cpu < 80%": "no --target-pid"},
    )
    assert (cpu.status, cpu.detail, cpu.measured) == ("not_measured", "no --target-pid", None)
    assert requests.status == "pass"


def test_a_fail_line_quotes_the_measured_value_once() -> None:
    result = ThresholdResult(
        "p95 < 500ms", "p95", None, "<", 500.0, "ms", 612.25, "fail", "limit < 500 ms"
    )
    [line] = threshold_lines([result])
    assert line.count("612") == 1
    assert line.startswith("FAIL")
