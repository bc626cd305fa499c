"""Thresholds in the user's words ("p95 < 500ms"), parsed before a run and judged after it.

Client-side metrics (latency percentiles, error rate, throughput, counts) are computed from the
run's histograms; any other metric is looked up in the monitor's aggregates. A threshold with no
data, or too few samples to support its claim, is reported as `no_data` and never passes.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from loadlab.errors import UsageError
from loadlab.monitor.series import SERIES, SPECIAL_AGGREGATES
from loadlab.results import EndpointStats, LatencyStats, ThresholdResult, ThresholdStatus
from loadlab.units import (
    Measured,
    parse_growth_bytes_per_10m,
    parse_latency_ms,
    parse_percent,
    parse_rate_per_s,
    parse_size,
)

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
_EXPRESSION = re.compile(
    r"^\s*(?P<metric>[a-z][a-z0-9_]*)\s*(?:\[(?P<endpoint>[^\]]+)\])?\s*"
    r"(?P<op><=|>=|==|<|>)\s*(?P<limit>\S.*?)\s*$"
)


def _count(text: str) -> float:
    if not re.fullmatch(r"\d+", text.strip()):
        raise ValueError(f"bad count {text!r}; use a whole number")
    return float(text)


@dataclass(frozen=True)
class MetricSpec:
    unit: str
    parse_limit: Callable[[str], float]
    client_side: bool
    example: str


PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}
METRICS: dict[str, MetricSpec] = {
    **{name: MetricSpec("ms", parse_latency_ms, True, f"{name} < 500ms") for name in PERCENTILES},
    "mean": MetricSpec("ms", parse_latency_ms, True, "mean < 200ms"),
    "max": MetricSpec("ms", parse_latency_ms, True, "max < 5s"),
    "error_rate": MetricSpec("percent", parse_percent, True, "error_rate < 0.1%"),
    "throughput": MetricSpec("per_s", parse_rate_per_s, True, "throughput > 100/s"),
    "requests": MetricSpec("count", _count, True, "requests > 1000"),
    "failures": MetricSpec("count", _count, True, "failures == 0"),
}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"bad number {text!r}") from None


def _bytes_per_s(text: str) -> float:
    size, slash, period = text.partition("/")
    if slash and period.strip() == "s":
        return parse_size(size)
    raise ValueError(f"bad rate {text!r}; use e.g. 10MB/s")


_LIMIT_PARSERS: dict[str, tuple[Callable[[str], float], str]] = {
    "percent": (parse_percent, "80%"),
    "ms": (parse_latency_ms, "300ms"),
    "bytes": (parse_size, "500MB"),
    "bytes_per_10m": (parse_growth_bytes_per_10m, "100MB/10m"),
    "bytes_per_s": (_bytes_per_s, "10MB/s"),
    "per_s": (parse_rate_per_s, "100/s"),
    "rate": (_number, "0.01"),
    "count": (_count, "10"),
}


def _monitor_metrics() -> dict[str, MetricSpec]:
    """Every aggregate the monitor answers (its catalogue), with the limit syntax of its unit."""
    units = {name: unit for name, (unit, _) in SPECIAL_AGGREGATES.items()}
    for series in SERIES:
        units.setdefault(series.name, series.unit)
        units.setdefault(f"{series.name}_max", series.unit)
    specs = {}
    for name, unit in sorted(units.items()):
        parser, example = _LIMIT_PARSERS.get(unit, (_number, "1"))
        specs[name] = MetricSpec(unit, parser, False, f"{name} < {example}")
    return specs


METRICS.update(_monitor_metrics())
CLIENT_METRICS = tuple(name for name, spec in METRICS.items() if spec.client_side)
# Fewer samples than this cannot support a claim about the percentile.
_MIN_SAMPLES = {"p50": 2, "p90": 10, "p95": 20, "p99": 100, "p999": 1000}


@dataclass(frozen=True)
class Threshold:
    expression: str
    metric: str
    endpoint: str | None
    operator: str
    limit: float
    unit: str


def parse_threshold(expression: str) -> Threshold:
    match = _EXPRESSION.match(expression)
    if match is None:
        raise UsageError(
            f"bad threshold {expression!r}",
            hint='write "metric < limit", e.g. "p95 < 500ms" or "p95[/api/v1/workspaces] < 200ms"',
        )
    metric = match.group("metric")
    spec = METRICS.get(metric)
    if spec is None:
        raise UsageError(
            f"unknown threshold metric {metric!r} in {expression!r}",
            hint="known metrics: "
            + ", ".join([*CLIENT_METRICS, *SPECIAL_AGGREGATES])
            + ", or a monitor series (docs/monitoring.md)",
        )
    endpoint = match.group("endpoint")
    if endpoint is not None and not spec.client_side:
        raise UsageError(
            f"threshold {expression!r}: {metric} is measured on the target, not per endpoint",
            hint=f"write e.g. {spec.example!r}",
        )
    try:
        limit = spec.parse_limit(match.group("limit"))
    except ValueError as error:
        raise UsageError(
            f"threshold {expression!r}: {error}", hint=f"e.g. {spec.example!r}"
        ) from None
    return Threshold(
        expression=expression.strip(),
        metric=metric,
        endpoint=endpoint.strip() if endpoint else None,
        operator=match.group("op"),
        limit=limit,
        unit=spec.unit,
    )


def parse_thresholds(expressions: Sequence[str]) -> tuple[Threshold, ...]:
    """Every expression parsed; all bad ones are named in one error."""
    parsed: list[Threshold] = []
    problems: list[str] = []
    for expression in expressions:
        try:
            parsed.append(parse_threshold(expression))
        except UsageError as error:
            problems.append(error.one_line())
    if problems:
        raise UsageError(" | ".join(problems))
    return tuple(parsed)


def evaluate(
    thresholds: Sequence[Threshold],
    *,
    totals: LatencyStats,
    endpoints: Sequence[EndpointStats],
    aggregates: Mapping[str, Measured],
) -> tuple[ThresholdResult, ...]:
    return tuple(_judge(t, _measure(t, totals, endpoints, aggregates)) for t in thresholds)


def _judge(threshold: Threshold, measured: Measured) -> ThresholdResult:
    if measured.value is None:
        status: ThresholdStatus = "no_data"
        detail: str | None = measured.detail or "no data"
    elif _OPERATORS[threshold.operator](measured.value, threshold.limit):
        status, detail = "pass", measured.detail
    else:
        status = "fail"
        detail = measured.detail or (
            f"measured {measured.value:g} {threshold.unit}, limit {threshold.operator} "
            f"{threshold.limit:g} {threshold.unit}"
        )
    return ThresholdResult(
        expression=threshold.expression,
        metric=threshold.metric,
        endpoint=threshold.endpoint,
        operator=threshold.operator,
        limit=threshold.limit,
        unit=threshold.unit,
        measured=measured.value,
        status=status,
        detail=detail,
    )


def _measure(
    threshold: Threshold,
    totals: LatencyStats,
    endpoints: Sequence[EndpointStats],
    aggregates: Mapping[str, Measured],
) -> Measured:
    spec = METRICS[threshold.metric]
    if not spec.client_side:
        found = aggregates.get(threshold.metric)
        if found is None:
            return Measured(None, spec.unit, f"the monitor did not measure {threshold.metric}")
        return found
    stats = totals if threshold.endpoint is None else _endpoint(threshold.endpoint, endpoints)
    where = "" if threshold.endpoint is None else f" for {threshold.endpoint}"
    if stats is None or stats.requests == 0:
        return Measured(None, spec.unit, f"no requests{where}")
    return _client_metric(threshold, stats, where)


def _client_metric(threshold: Threshold, stats: LatencyStats, where: str) -> Measured:
    metric = threshold.metric
    unit = METRICS[metric].unit
    if metric in PERCENTILES:
        needed = _MIN_SAMPLES[metric]
        if stats.requests < needed:
            return Measured(
                None,
                unit,
                f"only {stats.requests} requests{where}; {metric} needs at least {needed}",
            )
        return Measured(getattr(stats, f"{metric}_ms"), unit)
    if metric == "error_rate":
        percent = 100.0 * stats.failures / stats.requests
        already_over = not _OPERATORS[threshold.operator](percent, threshold.limit)
        if threshold.operator in ("<", "<=") and threshold.limit > 0 and not already_over:
            needed = math.ceil(
                300.0 / threshold.limit
            )  # rule of three: 3 / rate for 95 % confidence
            if stats.requests < needed:
                return Measured(
                    None,
                    unit,
                    f"only {stats.requests} requests{where}; an error rate below "
                    f"{threshold.limit:g}% needs at least {needed}",
                )
        return Measured(percent, unit)
    values = {
        "mean": stats.mean_ms,
        "max": stats.max_ms,
        "throughput": stats.rps,
        "requests": float(stats.requests),
        "failures": float(stats.failures),
    }
    return Measured(values[metric], unit)


def _endpoint(selector: str, endpoints: Sequence[EndpointStats]) -> LatencyStats | None:
    method, _, name = selector.partition(" ")
    if not name:
        method, name = "", selector
    matching = [
        e for e in endpoints if e.name == name and (not method or e.method == method.upper())
    ]
    if not matching:
        return None
    if len(matching) == 1:
        return matching[0]
    return _merge(matching)


def _merge(endpoints: Sequence[EndpointStats]) -> LatencyStats:
    """Several methods on one name: counts add up, but percentiles cannot, so they are left out."""
    requests = sum(e.requests for e in endpoints)
    failures = sum(e.failures for e in endpoints)
    return LatencyStats(
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 0.0,
        rps=sum(e.rps for e in endpoints),
        mean_ms=None,
        min_ms=None,
        max_ms=max((e.max_ms for e in endpoints if e.max_ms is not None), default=None),
        p50_ms=None,
        p90_ms=None,
        p95_ms=None,
        p99_ms=None,
        p999_ms=None,
    )
