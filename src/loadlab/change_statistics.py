"""Is a change real, and is it larger than the limit? The statistics behind `loadlab compare`.

Two methods (docs/baselines.md gives their parameters and measured error rates):

- "windows": a percentile bootstrap (scipy.stats.bootstrap) of the change in a per-second
  statistic (the median of per-second p95s, the mean of per-second request counts, ...) between
  the current run's seconds and the baseline runs' seconds pooled. With two or more baseline
  runs, the interval is widened by the runs' own spread beyond what their seconds explain (the
  between-run variance: the variance of the runs' statistics less the mean of their bootstrap
  variances), as a Student-t prediction interval for one more run added in quadrature, so the
  run-to-run noise of a busy machine is not taken for a change.
- "runs": one value per run (a whole-run percentile of one endpoint, the memory growth) against
  the baseline runs' values, by that prediction interval alone; it needs two baseline runs.

A change is `regressed` only when its whole interval lies beyond the limit in the worse
direction (the change is larger than the limit, with 95 % confidence); `improved` likewise the
other way; `unchanged` when the whole interval lies within the limit; anything else, too little
data included, is `inconclusive`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from loadlab.comparison_result import ChangeVerdict

if TYPE_CHECKING:
    from numpy import float64
    from numpy.typing import NDArray

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20261201  # a fixed generator: the same data always gets the same verdict
MIN_WINDOWS = 10  # seconds with data, in the current run and in the baseline
MIN_BASELINE_RUNS_FOR_RUNS = 2

Array: TypeAlias = "NDArray[float64]"
Reducer: TypeAlias = Callable[..., Array]


@dataclass(frozen=True)
class Estimate:
    change: float | None
    ci_low: float | None
    ci_high: float | None
    detail: str | None = None  # why there is no estimate, or how it was widened


def _scipy_stats() -> Any:
    """scipy.stats, imported when a comparison first needs it: it takes a second to import,
    which every other loadlab command would pay at start-up (numpy, a fifth of a second, is
    imported in the functions that use it for the same reason)."""
    from scipy import stats

    return stats


def _change(current: float, baseline: float, relative: bool) -> float:
    if relative:
        return math.nan if baseline == 0 else (current / baseline - 1.0) * 100.0
    return current - baseline


def run_spread(
    values: Sequence[float], reference: float, *, relative: bool, within_variance: float = 0.0
) -> float:
    """Half-width of the prediction interval of one more run, in the change's scale; the
    variance the runs' own samples explain (`within_variance`, same scale) is taken out."""
    import numpy as np

    k = len(values)
    if k < MIN_BASELINE_RUNS_FOR_RUNS:
        return 0.0
    scaled = np.array([_change(v, reference, relative) for v in values], dtype=float)
    if not np.all(np.isfinite(scaled)):
        return math.inf
    sd = math.sqrt(max(0.0, float(np.var(scaled, ddof=1)) - within_variance))
    quantile = float(_scipy_stats().t.ppf(0.5 + CONFIDENCE / 2.0, k - 1))
    return quantile * sd * math.sqrt(1.0 + 1.0 / k)


def windows_estimate(
    current: Sequence[float],
    baseline_runs: Sequence[Sequence[float]],
    *,
    reducer: str,
    relative: bool,
) -> Estimate:
    """The change in `reducer` ("median" or "mean") of per-second values, with its interval."""
    import numpy as np

    reduce: Reducer = np.median if reducer == "median" else np.mean
    cur = np.asarray(current, dtype=float)
    base = np.concatenate([np.asarray(r, dtype=float) for r in baseline_runs] or [np.array([])])
    if cur.size < MIN_WINDOWS or base.size < MIN_WINDOWS:
        return Estimate(
            None,
            None,
            None,
            f"only {cur.size} s of load with data here and {base.size} s in the baseline; "
            f"at least {MIN_WINDOWS} s each are needed",
        )
    baseline_value = float(reduce(base))
    if relative and baseline_value == 0:
        return Estimate(None, None, None, "the baseline is 0: a relative change is undefined")
    estimate = _change(float(reduce(cur)), baseline_value, relative)

    def statistic(x: Array, y: Array, axis: int = -1) -> Array:
        sx, sy = reduce(x, axis=axis), reduce(y, axis=axis)
        if relative:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray((sx / sy - 1.0) * 100.0)
        return np.asarray(sx - sy)

    if np.ptp(cur) == 0 and np.ptp(base) == 0:
        low = high = estimate
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate resamples: the interval says enough
            result = _scipy_stats().bootstrap(
                (cur, base),
                statistic,
                n_resamples=RESAMPLES,
                confidence_level=CONFIDENCE,
                method="percentile",
                vectorized=True,
                rng=np.random.default_rng(SEED),
            )
        low = float(result.confidence_interval.low)
        high = float(result.confidence_interval.high)
    detail = None
    runs = [np.asarray(r, dtype=float) for r in baseline_runs if len(r) >= 2]
    per_run = [float(reduce(r)) for r in runs]
    within = _within_variance(runs, reduce, baseline_value, relative) if len(runs) >= 2 else 0.0
    spread = run_spread(per_run, baseline_value, relative=relative, within_variance=within)
    if spread:
        detail = f"widened by the {len(per_run)} baseline runs' own spread (±{spread:.3g})"
    low = estimate - math.hypot(estimate - low, spread)
    high = estimate + math.hypot(high - estimate, spread)
    if not (math.isfinite(low) and math.isfinite(high)):
        return Estimate(estimate, None, None, "the interval is undefined (a baseline of 0)")
    return Estimate(estimate, low, high, detail)


def _within_variance(
    runs: Sequence[Array], reduce: Reducer, reference: float, relative: bool
) -> float:
    """The mean bootstrap variance of each run's statistic, in the change's scale."""
    import numpy as np

    variances = []
    for run in runs:
        if np.ptp(run) == 0:
            variances.append(0.0)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _scipy_stats().bootstrap(
                (run,),
                reduce,
                n_resamples=RESAMPLES // 4,
                confidence_level=CONFIDENCE,
                method="percentile",
                vectorized=True,
                rng=np.random.default_rng(SEED),
            )
        scale = 100.0 / reference if relative else 1.0
        variances.append(float(result.standard_error * scale) ** 2)
    return float(np.mean(variances))


def runs_estimate(
    current: float | None,
    baseline_value: float | None,
    baseline_runs: Sequence[float],
    *,
    relative: bool,
) -> Estimate:
    """One value per run: the current run against the baseline runs' spread."""
    if current is None or baseline_value is None:
        return Estimate(None, None, None, "not measured in this run or in the baseline")
    if len(baseline_runs) < MIN_BASELINE_RUNS_FOR_RUNS:
        return Estimate(
            None,
            None,
            None,
            f"{len(baseline_runs)} baseline run cannot show how much runs differ; "
            f"at least {MIN_BASELINE_RUNS_FOR_RUNS} are needed",
        )
    if relative and baseline_value == 0:
        return Estimate(None, None, None, "the baseline is 0: a relative change is undefined")
    estimate = _change(current, baseline_value, relative)
    spread = run_spread(baseline_runs, baseline_value, relative=relative)
    if not math.isfinite(spread):
        return Estimate(estimate, None, None, "the baseline runs' spread is undefined")
    return Estimate(estimate, estimate - spread, estimate + spread)


def classify(estimate: Estimate, *, amount: float, worse_when: str) -> ChangeVerdict:
    """regressed / improved / unchanged / inconclusive, from the estimate and the limit."""
    if estimate.change is None or estimate.ci_low is None or estimate.ci_high is None:
        return "inconclusive"
    sign = 1.0 if worse_when == "higher" else -1.0
    low, high = sorted((sign * estimate.ci_low, sign * estimate.ci_high))
    if low > amount:
        return "regressed"
    if high < -amount:
        return "improved"
    if low > -amount and high < amount:
        return "unchanged"
    return "inconclusive"
