"""Regression limits in the user's words ("p95 +10%", "throughput -5%", "error_rate +0.05pp"),
parsed before a run like thresholds are; docs/baselines.md.

The sign says which way is worse: `+` an increase, `-` a decrease. The amount is relative (`%`),
in percentage points (`pp`, for percent metrics) or absolute in the metric's unit (`+20ms`,
`+20MB/10m`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from loadlab.errors import UsageError
from loadlab.metrics import THRESHOLD_METRICS

# What a comparison can recompute from the history (docs/baselines.md).
COMPARABLE = ("p50", "p90", "p95", "p99", "p999", "mean", "max", "throughput", "error_rate")
TARGET_COMPARABLE = ("memory_growth",)
# Shown by `loadlab compare` when loadlab.toml sets none; they never set the exit code.
DEFAULT_REGRESSIONS = (
    "p50 +10%",
    "p95 +10%",
    "p99 +20%",
    "throughput -5%",
    "error_rate +0.05pp",
    "memory_growth +20MB/10m",
)
_LIMIT = re.compile(
    r"^\s*(?P<metric>[a-z][a-z0-9_]*)\s*(?:\[(?P<endpoint>[^\]]+)\])?\s*"
    r"(?P<sign>[+-])\s*(?P<amount>\S.*?)\s*$"
)


@dataclass(frozen=True)
class RegressionLimit:
    expression: str
    metric: str
    endpoint: str | None
    worse_when: str  # "higher" or "lower"
    amount: float  # positive; in `kind`'s unit
    kind: str  # "relative" (amount in percent), "pp" or "absolute" (the metric's unit)
    unit: str  # the metric's unit

    @property
    def change_unit(self) -> str:
        return {"relative": "percent", "pp": "pp"}.get(self.kind, self.unit)


def parse_limit(expression: str) -> RegressionLimit:
    match = _LIMIT.match(expression)
    example = 'e.g. "p95 +10%", "throughput -5%", "error_rate +0.05pp"'
    if match is None:
        raise UsageError(f"bad regression limit {expression!r}", hint=f"write {example}")
    metric, endpoint = match.group("metric"), match.group("endpoint")
    if metric not in COMPARABLE + TARGET_COMPARABLE:
        raise UsageError(
            f"regression limit {expression!r}: {metric} cannot be compared",
            hint="comparable: " + ", ".join(COMPARABLE + TARGET_COMPARABLE),
        )
    if endpoint is not None and metric in TARGET_COMPARABLE:
        raise UsageError(f"regression limit {expression!r}: {metric} is not per endpoint")
    unit = THRESHOLD_METRICS[metric].unit
    amount_text = match.group("amount")
    try:
        if amount_text.endswith("pp"):
            if unit != "percent":
                raise ValueError("pp (percentage points) is only for percent metrics")
            kind, amount = "pp", float(amount_text[:-2])
        elif amount_text.endswith("%") and unit != "percent":
            kind, amount = "relative", float(amount_text[:-1])
        elif amount_text.endswith("%"):
            raise ValueError(f"{metric} is a percentage: write e.g. +0.05pp")
        else:
            kind, amount = "absolute", THRESHOLD_METRICS[metric].parse_limit(amount_text)
    except ValueError as error:
        raise UsageError(f"regression limit {expression!r}: {error}", hint=example) from None
    if not amount > 0:
        raise UsageError(f"regression limit {expression!r}: the amount must be above 0")
    return RegressionLimit(
        expression=expression.strip(),
        metric=metric,
        endpoint=endpoint.strip() if endpoint else None,
        worse_when="higher" if match.group("sign") == "+" else "lower",
        amount=amount,
        kind=kind,
        unit=unit,
    )


def parse_limits(expressions: Sequence[str]) -> tuple[RegressionLimit, ...]:
    """Every limit parsed; all bad ones named in one error."""
    parsed: list[RegressionLimit] = []
    problems: list[str] = []
    for expression in expressions:
        try:
            parsed.append(parse_limit(expression))
        except UsageError as error:
            problems.append(error.one_line())
    if problems:
        raise UsageError(" | ".join(problems))
    return tuple(parsed)
