"""Thresholds in the user's words ("p95 < 500ms"), parsed before a run and judged after it.

Client-side metrics (latency percentiles, error rate, throughput, counts) are computed from the
run's histograms; any other metric is looked up in the monitor's aggregates. A threshold with no
data is `no_data` (a failure); one with too few samples to support its claim is `inconclusive`
(never a pass, and its detail says how much longer the run needed at the measured rate).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from loadlab.errors import UsageError
from loadlab.metrics import AGGREGATES, PERCENTILES, THRESHOLD_METRICS, format_value
from loadlab.results import (
    EndpointStats,
    LatencyStats,
    OpenModel,
    ThresholdResult,
    ThresholdStatus,
)
from loadlab.units import (
    Measured,
    format_duration,
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


METRICS = THRESHOLD_METRICS
ARRIVAL_METRICS = ("dropped_arrivals", "dropped_rate", "late_arrivals")
CLIENT_METRICS = tuple(
    name for name, spec in METRICS.items() if spec.client_side or name in ARRIVAL_METRICS
)
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
    # False for a preset's default (package loadlab.toml): one whose source the run will not
    # have is `not_measured`; the user's own (--threshold, their loadlab.toml) end `no_data`.
    explicit: bool = True


def parse_threshold(expression: str, *, explicit: bool = True) -> Threshold:
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
            + ", ".join([*CLIENT_METRICS, *(m.name for m in AGGREGATES)])
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
        if spec.max_limit is not None and limit > spec.max_limit:
            shown = format_value(spec.max_limit, spec.unit)
            raise ValueError(f"{metric} is a share: the limit cannot be above {shown}")
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
        explicit=explicit,
    )


def parse_thresholds(expressions: Sequence[str], *, explicit: bool = True) -> tuple[Threshold, ...]:
    """Every expression parsed; all bad ones are named in one error."""
    parsed: list[Threshold] = []
    problems: list[str] = []
    for expression in expressions:
        try:
            parsed.append(parse_threshold(expression, explicit=explicit))
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
    not_measured: Mapping[str, str] | None = None,
    open_model: OpenModel | None = None,
) -> tuple[ThresholdResult, ...]:
    """`not_measured`: expression -> why, for defaults whose source the run did not have."""
    skipped = not_measured or {}
    return tuple(
        _skipped(t, skipped[t.expression])
        if t.expression in skipped
        else _judge(t, _measure(t, totals, endpoints, aggregates, open_model))
        for t in thresholds
    )


def _skipped(threshold: Threshold, why: str) -> ThresholdResult:
    return _result(threshold, None, "not_measured", why)


def _result(
    threshold: Threshold, measured: float | None, status: ThresholdStatus, detail: str | None
) -> ThresholdResult:
    """The threshold as the user wrote it, with what was measured and how it was judged."""
    return ThresholdResult(
        expression=threshold.expression,
        metric=threshold.metric,
        endpoint=threshold.endpoint,
        operator=threshold.operator,
        limit=threshold.limit,
        unit=threshold.unit,
        measured=measured,
        status=status,
        detail=detail,
    )


def _judge(threshold: Threshold, measured: Measured) -> ThresholdResult:
    detail = measured.detail
    if measured.value is None:
        status: ThresholdStatus = "inconclusive" if measured.inconclusive else "no_data"
        detail = detail or "no data"
    elif _OPERATORS[threshold.operator](measured.value, threshold.limit):
        status = "pass"
    else:
        status = "fail"  # the line quotes the measured value; the detail adds only the limit
        detail = (
            detail or f"limit {threshold.operator} {format_value(threshold.limit, threshold.unit)}"
        )
    return _result(threshold, measured.value, status, detail)


def _measure(
    threshold: Threshold,
    totals: LatencyStats,
    endpoints: Sequence[EndpointStats],
    aggregates: Mapping[str, Measured],
    open_model: OpenModel | None = None,
) -> Measured:
    spec = METRICS[threshold.metric]
    if threshold.metric in ARRIVAL_METRICS:
        return _arrivals(threshold.metric, open_model)
    if threshold.metric.startswith("service_") and open_model is not None:
        # The same percentile, of the latency from the moment each request was sent.
        totals, endpoints = open_model.service, open_model.service_endpoints
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


def _arrivals(metric: str, open_model: OpenModel | None) -> Measured:
    unit = METRICS[metric].unit
    if open_model is None:
        return Measured(None, unit, "a closed-model run has no arrivals: give --rate")
    values = {
        "dropped_arrivals": float(open_model.dropped),
        "dropped_rate": open_model.dropped_rate,
        "late_arrivals": float(open_model.late),
    }
    if open_model.started + open_model.dropped == 0:
        return Measured(None, unit, "no arrival came due")
    return Measured(values[metric], unit)


def _client_metric(threshold: Threshold, stats: LatencyStats, where: str) -> Measured:
    metric = threshold.metric.removeprefix("service_")
    unit = METRICS[metric].unit
    if metric in PERCENTILES:
        needed = _MIN_SAMPLES[metric]
        if stats.requests < needed:
            claim = f"{metric} needs at least {needed}"
            return _too_few(stats, needed, unit, where, claim)
        return Measured(getattr(stats, f"{metric}_ms"), unit)
    if metric == "error_rate":
        percent = 100.0 * stats.failures / stats.requests
        already_over = not _OPERATORS[threshold.operator](percent, threshold.limit)
        if threshold.operator in ("<", "<=") and threshold.limit > 0 and not already_over:
            needed = math.ceil(
                300.0 / threshold.limit
            )  # rule of three: 3 / rate for 95 % confidence
            if stats.requests < needed:
                claim = f"an error rate below {threshold.limit:g}% needs at least {needed}"
                return _too_few(stats, needed, unit, where, claim)
        return Measured(percent, unit)
    values = {
        "mean": stats.mean_ms,
        "max": stats.max_ms,
        "throughput": stats.rps,
        "requests": float(stats.requests),
        "failures": float(stats.failures),
    }
    return Measured(values[metric], unit)


def _too_few(stats: LatencyStats, needed: int, unit: str, where: str, claim: str) -> Measured:
    """Inconclusive: the claim needs more requests; at the measured rate, this much longer."""
    detail = f"only {stats.requests} requests{where}; {claim}"
    if stats.rps > 0:
        longer_s = math.ceil((needed - stats.requests) / stats.rps)
        detail += f": run about {format_duration(max(1, longer_s))} longer at {stats.rps:.3g} req/s"
    return Measured(None, unit, detail, inconclusive=True)


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
        error_rate=100 * failures / requests if requests else 0.0,
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
