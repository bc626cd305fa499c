"""A run against its baseline: every comparable metric, of all requests and per endpoint, with
its change, interval and verdict (docs/baselines.md). Pure: the history store supplies `RunData`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from loadlab.change_statistics import (
    CONFIDENCE,
    Estimate,
    classify,
    runs_estimate,
    windows_estimate,
)
from loadlab.comparison_result import Change, Comparison
from loadlab.histograms import decode, new_histogram, percentile_ms
from loadlab.metrics import PERCENTILES
from loadlab.regressions import RegressionLimit
from loadlab.results import RunSummary

TOTAL = "*"  # the key of the histogram of all requests
# Per-second columns of the timeline, so these metrics are compared window by window.
_WINDOW_COLUMNS = {"p50": "p50_ms", "p95": "p95_ms", "p99": "p99_ms"}
# Fewer requests than this cannot support a claim about the percentile (as for thresholds).
_MIN_REQUESTS = {"p50": 2, "p90": 10, "p95": 20, "p99": 100, "p999": 1000}
_PLAN_KEYS = ("users", "spawn_rate", "run_time_s", "stages", "tags", "exclude_tags", "profile")


@dataclass(frozen=True)
class RunData:
    """What a comparison needs of one run: what the history store keeps."""

    run_id: str
    scenario: str
    engine: str
    target: str  # "embedded (sqlite)" or the host: the embedded platform's port is random
    plan: Mapping[str, Any]
    passed: bool
    totals: Mapping[str, Any]
    endpoints: Mapping[str, Mapping[str, Any]]  # "METHOD name" -> LatencyStats fields
    timeline: Sequence[Mapping[str, Any]]
    steady_s: tuple[float, float] | None
    histograms: Mapping[str, str]  # "METHOD name" or TOTAL -> encoded HdrHistogram
    memory_growth_bytes_per_10m: float | None = None
    started_at: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: RunSummary, labels: Mapping[str, str] | None = None) -> RunData:
        plan = asdict(summary.plan)
        monitor = summary.monitor.summary
        start, end = monitor.get("steady_from_s"), monitor.get("steady_to_s")
        return cls(
            run_id=summary.run_id,
            scenario=summary.scenario,
            engine=summary.engine,
            target=target_key(summary),
            plan=plan,
            passed=summary.verdict.passed,
            totals=asdict(summary.totals),
            endpoints={f"{e.method} {e.name}": asdict(e) for e in summary.endpoints},
            timeline=[asdict(p) for p in summary.timeline],
            steady_s=None if start is None or end is None else (float(start), float(end)),
            histograms=dict(summary.histograms),
            memory_growth_bytes_per_10m=monitor.get("memory_growth_bytes_per_10m"),
            started_at=summary.started_at,
            labels=dict(labels if labels is not None else summary.labels),
        )

    def plan_key(self) -> str:
        return plan_key(self.plan)

    def window(self, metric: str) -> list[float]:
        """Per-second values over the steady phase (every second for throughput)."""
        rows = [
            r
            for r in self.timeline
            if self.steady_s is None or self.steady_s[0] <= r["t_s"] < self.steady_s[1]
        ]
        if metric == "throughput":
            return [float(r["requests"]) for r in rows]
        if metric == "error_rate":
            return [100.0 * r["failures"] / r["requests"] for r in rows if r["requests"]]
        column = _WINDOW_COLUMNS[metric]
        return [float(r[column]) for r in rows if r.get(column) is not None]


def target_key(summary: RunSummary) -> str:
    if summary.target.embedded:
        return f"embedded ({summary.target.database or 'sqlite'})"
    return summary.target.host


def plan_key(plan: Mapping[str, Any]) -> str:
    """The plan as it decides the load: the same key means comparable runs."""
    parts = []
    for key in _PLAN_KEYS:
        value = plan.get(key)
        if key == "stages":
            value = ",".join(f"{s['duration_s']:g}:{s['target']}" for s in value or ())
        elif isinstance(value, list | tuple):
            value = ",".join(value)
        parts.append(f"{key}={value}")
    return ";".join(parts)


def differences(current: RunData, baseline: Sequence[RunData]) -> tuple[str, ...]:
    """How each baseline run differs from this one in what decides the load, in words."""
    found = []
    for run in baseline:
        for key in ("scenario", "engine", "target"):
            if getattr(run, key) != getattr(current, key):
                found.append(
                    f"{run.run_id}: {key} {getattr(run, key)} (this run: {getattr(current, key)})"
                )
        for key in _PLAN_KEYS:
            if plan_key({key: run.plan.get(key)}) != plan_key({key: current.plan.get(key)}):
                found.append(
                    f"{run.run_id}: {key} {run.plan.get(key)} (this run: {current.plan.get(key)})"
                )
    return tuple(found)


def compare(
    current: RunData,
    baseline: Sequence[RunData],
    limits: Sequence[RegressionLimit],
    *,
    judged: bool,
    baseline_kind: str,
) -> Comparison:
    """Every limit's metric, of all requests and per endpoint, against `baseline`."""
    changes: list[Change] = []
    for limit in limits:
        if limit.endpoint is not None:
            key = _endpoint_key(current, limit.endpoint)
            changes.append(_endpoint_change(current, baseline, limit, key, judged=judged))
            continue
        changes.append(_total_change(current, baseline, limit, judged=judged))
        if limit.metric in PERCENTILES or limit.metric in ("mean", "max"):
            for key in sorted(current.endpoints):
                if any(key in run.endpoints for run in baseline):
                    changes.append(_endpoint_change(current, baseline, limit, key, judged=False))
    return Comparison(
        baseline_runs=tuple(r.run_id for r in baseline),
        baseline_kind=baseline_kind,
        differences=differences(current, baseline),
        changes=tuple(changes),
        confidence=CONFIDENCE,
        series=overlay(current, baseline),
    )


def _endpoint_key(run: RunData, endpoint: str) -> str:
    if endpoint in run.endpoints:
        return endpoint
    by_name = [key for key in run.endpoints if key.split(" ", 1)[-1] == endpoint]
    return by_name[0] if len(by_name) == 1 else endpoint


def _total_change(
    current: RunData, baseline: Sequence[RunData], limit: RegressionLimit, *, judged: bool
) -> Change:
    relative = limit.kind == "relative"
    metric = limit.metric
    value_now = _value(current, metric, TOTAL)
    value_then = _baseline_value(baseline, metric, TOTAL)
    if metric in _WINDOW_COLUMNS or metric in ("throughput", "error_rate"):
        reducer = "median" if metric in _WINDOW_COLUMNS else "mean"
        estimate = windows_estimate(
            current.window(metric),
            [run.window(metric) for run in baseline],
            reducer=reducer,
            relative=relative,
        )
        method = "windows"
    else:
        per_run = [v for v in (_value(run, metric, TOTAL) for run in baseline) if v is not None]
        estimate = runs_estimate(value_now, value_then, per_run, relative=relative)
        method = "runs"
    estimate = _enough_requests(estimate, metric, current.totals.get("requests", 0))
    return _change_row(limit, None, (value_then, value_now), estimate, method=method, judged=judged)


def _endpoint_change(
    current: RunData,
    baseline: Sequence[RunData],
    limit: RegressionLimit,
    key: str,
    *,
    judged: bool,
) -> Change:
    metric = limit.metric
    value_now = _value(current, metric, key)
    value_then = _baseline_value(baseline, metric, key)
    per_run = [v for v in (_value(run, metric, key) for run in baseline) if v is not None]
    estimate = runs_estimate(value_now, value_then, per_run, relative=limit.kind == "relative")
    requests = current.endpoints.get(key, {}).get("requests", 0)
    estimate = _enough_requests(estimate, metric, requests)
    return _change_row(limit, key, (value_then, value_now), estimate, method="runs", judged=judged)


def _enough_requests(estimate: Estimate, metric: str, requests: int) -> Estimate:
    needed = _MIN_REQUESTS.get(metric, 0)
    if requests < needed:
        return Estimate(None, None, None, f"only {requests} requests; {metric} needs {needed}")
    return estimate


def _change_row(
    limit: RegressionLimit,
    endpoint: str | None,
    values: tuple[float | None, float | None],
    estimate: Estimate,
    *,
    method: str,
    judged: bool,
) -> Change:
    baseline, current = values
    return Change(
        metric=limit.metric,
        endpoint=endpoint,
        unit=limit.unit,
        baseline=baseline,
        current=current,
        change=estimate.change,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        change_unit=limit.change_unit,
        verdict=classify(estimate, amount=limit.amount, worse_when=limit.worse_when),
        limit=limit.expression,
        judged=judged,
        method=method,
        detail=estimate.detail,
    )


def _stats(run: RunData, key: str) -> Mapping[str, Any] | None:
    return run.totals if key == TOTAL else run.endpoints.get(key)


def _value(run: RunData, metric: str, key: str) -> float | None:
    if metric == "memory_growth":
        return run.memory_growth_bytes_per_10m if key == TOTAL else None
    found = _stats(run, key)
    if found is None:
        return None
    name = {"throughput": "rps", "error_rate": "error_rate"}.get(metric, f"{metric}_ms")
    value = found.get(name)
    return None if value is None else float(value)


def _baseline_value(baseline: Sequence[RunData], metric: str, key: str) -> float | None:
    """The baseline runs together: percentiles of their merged histograms (exact), rates pooled."""
    if metric in PERCENTILES:
        merged = new_histogram()
        for run in baseline:
            encoded = run.histograms.get(key)
            if encoded:
                merged.add(decode(encoded))
        if merged.get_total_count():
            return percentile_ms(merged, PERCENTILES[metric])
    present = [(run, s) for run in baseline if (s := _stats(run, key)) is not None]
    if metric == "error_rate" and present:
        requests = sum(s["requests"] for _, s in present)
        return 100.0 * sum(s["failures"] for _, s in present) / requests if requests else None
    if metric == "mean" and present:
        requests = sum(s["requests"] for _, s in present)
        total_ms = sum(s["requests"] * (s["mean_ms"] or 0.0) for _, s in present)
        return total_ms / requests if requests else None
    values = [v for v in (_value(run, metric, key) for run in baseline) if v is not None]
    if not values:
        return None
    return max(values) if metric == "max" else statistics.fmean(values)


def overlay(current: RunData, baseline: Sequence[RunData]) -> dict[str, Any]:
    """Per-second p50, p95 and req/s of this run and the baseline (the median across its runs)."""
    length = len(current.timeline)
    series: dict[str, Any] = {"t_s": [row["t_s"] for row in current.timeline]}
    for column in ("p50_ms", "p95_ms", "rps"):
        series[f"current_{column}"] = [row.get(column) for row in current.timeline]
        merged = []
        for second in range(length):
            values = [
                float(run.timeline[second][column])
                for run in baseline
                if second < len(run.timeline) and run.timeline[second].get(column) is not None
            ]
            merged.append(statistics.median(values) if values else None)
        series[f"baseline_{column}"] = merged
    return series
