"""The statistics of a change, table-driven on samples of known distributions (seeded), and the
parsing of regression limits and the change points of a trend."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loadlab.change_statistics import (
    Estimate,
    classify,
    run_spread,
    runs_estimate,
    windows_estimate,
)
from loadlab.errors import UsageError
from loadlab.regressions import parse_limit
from loadlab.trends import change_points


def _runs(factor: float, *, seed: int, runs: int = 1, seconds: int = 60) -> list[list[float]]:
    """Per-second p95s of `runs` runs: log-normal around 30 ms times `factor`, each run with its
    own level within 2 % (as runs on a shared machine have)."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(runs):
        level = rng.normal(1.0, 0.02)
        found.append(list(rng.lognormal(math.log(30.0 * factor * level), 0.25, seconds)))
    return found


@pytest.mark.parametrize(
    ("factor", "baseline_runs", "limit", "expected"),
    [
        pytest.param(1.0, 5, 20.0, "unchanged", id="same-distribution-unchanged"),
        pytest.param(1.0, 5, 10.0, "inconclusive", id="same-but-60s-cannot-show-within-10pct"),
        pytest.param(1.25, 5, 10.0, "regressed", id="25pct-slower-regressed"),
        pytest.param(0.75, 5, 10.0, "improved", id="25pct-faster-improved"),
        pytest.param(1.08, 5, 10.0, "inconclusive", id="near-the-limit-inconclusive"),
        pytest.param(1.25, 1, 10.0, "inconclusive", id="one-baseline-run-not-sure-enough"),
        pytest.param(1.25, 5, 40.0, "unchanged", id="within-a-wide-limit"),
    ],
)
def test_windows_verdicts_on_known_shifts(
    factor: float, baseline_runs: int, limit: float, expected: str
) -> None:
    (current,) = _runs(factor, seed=1)
    baseline = _runs(1.0, seed=2, runs=baseline_runs)
    estimate = windows_estimate(current, baseline, reducer="median", relative=True)
    assert estimate.change == pytest.approx((factor - 1) * 100, abs=6.0)
    assert classify(estimate, amount=limit, worse_when="higher") == expected


@pytest.mark.parametrize(
    ("factor", "at_least", "at_most"),
    [
        pytest.param(1.0, 0, 0, id="false-alarms-none"),
        pytest.param(1.25, 60, 100, id="power-25pct-most"),
        pytest.param(1.5, 100, 100, id="power-50pct-all"),
    ],
)
def test_error_rates_over_100_seeded_comparisons(
    factor: float, at_least: int, at_most: int
) -> None:
    """How often a change is flagged over 100 comparisons of 60 s against 5 baseline runs
    (the figures in docs/baselines.md: 0 false alarms, 73 of 100 at +25 %)."""
    flagged = 0
    for seed in range(100):
        (current,) = _runs(factor, seed=1000 + seed)
        baseline = _runs(1.0, seed=2000 + seed, runs=5)
        estimate = windows_estimate(current, baseline, reducer="median", relative=True)
        flagged += classify(estimate, amount=10.0, worse_when="higher") == "regressed"
    assert at_least <= flagged <= at_most


@pytest.mark.parametrize(
    ("current_s", "baseline_s", "detail"),
    [
        pytest.param(9, 60, "only 9 s of load", id="short-current"),
        pytest.param(60, 9, "9 s in the baseline", id="short-baseline"),
        pytest.param(0, 0, "only 0 s", id="nothing"),
    ],
)
def test_too_little_data_is_inconclusive_never_unchanged(
    current_s: int, baseline_s: int, detail: str
) -> None:
    current = [30.0] * current_s
    baseline = [[30.0] * baseline_s]
    estimate = windows_estimate(current, baseline, reducer="median", relative=True)
    assert estimate.change is None
    assert detail in (estimate.detail or "")
    assert classify(estimate, amount=10.0, worse_when="higher") == "inconclusive"


def test_constant_series_give_an_exact_interval() -> None:
    estimate = windows_estimate([12.0] * 20, [[10.0] * 20], reducer="mean", relative=True)
    assert (estimate.change, estimate.ci_low, estimate.ci_high) == pytest.approx((20, 20, 20))


def test_a_zero_baseline_has_no_relative_change() -> None:
    estimate = windows_estimate([1.0] * 20, [[0.0] * 20], reducer="mean", relative=True)
    assert estimate.change is None


@pytest.mark.parametrize(
    ("values", "reference", "relative", "expected"),
    [
        # sd 10 %, t(0.975, 2) = 4.3027, sqrt(1 + 1/3)
        pytest.param([9.0, 10.0, 11.0], 10.0, True, 4.302653 * 10 * math.sqrt(4 / 3), id="rel"),
        pytest.param([9.0, 10.0, 11.0], 10.0, False, 4.302653 * 1 * math.sqrt(4 / 3), id="abs"),
        pytest.param([10.0, 10.0], 10.0, True, 0.0, id="no-spread"),
        pytest.param([10.0], 10.0, True, 0.0, id="one-run-no-spread-known"),
    ],
)
def test_run_spread_is_a_t_prediction_interval(
    values: list[float], reference: float, relative: bool, expected: float
) -> None:
    assert run_spread(values, reference, relative=relative) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("current", "baseline_runs", "expected", "detail"),
    [
        pytest.param(13.0, [9.0, 10.0, 11.0], "inconclusive", None, id="within-run-spread"),
        pytest.param(20.0, [9.9, 10.0, 10.1], "regressed", None, id="far-beyond-spread"),
        pytest.param(10.0, [9.9, 10.0, 10.1], "unchanged", None, id="same"),
        pytest.param(20.0, [10.0], "inconclusive", "at least 2", id="one-run"),
        pytest.param(None, [10.0, 10.0], "inconclusive", "not measured", id="no-value"),
    ],
)
def test_runs_estimate_verdicts(
    current: float | None, baseline_runs: list[float], expected: str, detail: str | None
) -> None:
    estimate = runs_estimate(current, 10.0, baseline_runs, relative=True)
    assert classify(estimate, amount=10.0, worse_when="higher") == expected
    if detail is not None:
        assert detail in (estimate.detail or "")


@pytest.mark.parametrize(
    ("change", "low", "high", "worse_when", "expected"),
    [
        pytest.param(25, 12, 38, "higher", "regressed", id="surely-beyond"),
        pytest.param(15, 5, 25, "higher", "inconclusive", id="real-maybe-beyond"),
        pytest.param(15, -2, 30, "higher", "inconclusive", id="beyond-not-real"),
        pytest.param(5, 1, 9, "higher", "unchanged", id="real-but-within"),
        pytest.param(-25, -38, -12, "higher", "improved", id="improved"),
        pytest.param(-25, -38, -12, "lower", "regressed", id="throughput-down"),
        pytest.param(25, 12, 38, "lower", "improved", id="throughput-up"),
        pytest.param(0, -12, 12, "higher", "inconclusive", id="too-wide"),
    ],
)
def test_classify(change: float, low: float, high: float, worse_when: str, expected: str) -> None:
    estimate = Estimate(change, low, high)
    assert classify(estimate, amount=10.0, worse_when=worse_when) == expected


@pytest.mark.parametrize(
    ("text", "metric", "endpoint", "worse_when", "amount", "kind"),
    [
        pytest.param("p95 +10%", "p95", None, "higher", 10.0, "relative", id="relative"),
        pytest.param("throughput -5%", "throughput", None, "lower", 5.0, "relative", id="down"),
        pytest.param("error_rate +0.05pp", "error_rate", None, "higher", 0.05, "pp", id="pp"),
        pytest.param(
            "memory_growth +20MB/10m", "memory_growth", None, "higher", 20e6, "absolute", id="mem"
        ),
        pytest.param("p99[GET /x] +20ms", "p99", "GET /x", "higher", 20.0, "absolute", id="ms"),
    ],
)
def test_parse_limit(
    text: str, metric: str, endpoint: str | None, worse_when: str, amount: float, kind: str
) -> None:
    limit = parse_limit(text)
    assert (limit.metric, limit.endpoint, limit.worse_when, limit.kind) == (
        metric,
        endpoint,
        worse_when,
        kind,
    )
    assert limit.amount == pytest.approx(amount)
    assert limit.expression == text


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("p95 10%", "bad regression limit", id="no-sign"),
        pytest.param("cpu_thing +10%", "cannot be compared", id="unknown-metric"),
        pytest.param("error_rate +5%", "percentage", id="percent-of-percent"),
        pytest.param("p95 +0.05pp", "only for percent", id="pp-of-latency"),
        pytest.param("p95 +0%", "above 0", id="zero"),
        pytest.param("memory_growth[GET /x] +1MB/10m", "not per endpoint", id="endpoint"),
    ],
)
def test_bad_limits_are_usage_errors(text: str, named: str) -> None:
    with pytest.raises(UsageError, match=named):
        parse_limit(text)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([10.0] * 8 + [20.0] * 8, (8,), id="one-step"),
        pytest.param([10.0, 10.2, 9.9, 10.1] * 4, (), id="noise-only"),
        pytest.param([10.0] * 6 + [20.0] * 6 + [10.0] * 6, (6, 12), id="up-and-back"),
        pytest.param([10.0, 20.0, 30.0], (), id="too-few-runs"),
        pytest.param([10.0, None, 10.0, 10.0, 30.0, None, 30.0, 30.0], (4,), id="gaps"),
        pytest.param([10.0] * 8 + [40.0] + [10.0] * 7, (), id="one-outlier-is-not-a-level"),
    ],
)
def test_change_points(values: list[float | None], expected: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    noisy = [None if v is None else v * float(rng.normal(1.0, 0.01)) for v in values]
    assert change_points(noisy) == expected
