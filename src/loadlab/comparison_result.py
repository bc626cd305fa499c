"""What a comparison with a baseline found: one immutable record that summary.json and every
report read (docs/baselines.md). It imports nothing of loadlab, so `results.py` can hold it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChangeVerdict = Literal["regressed", "improved", "unchanged", "inconclusive"]
VERDICTS: tuple[ChangeVerdict, ...] = ("regressed", "improved", "unchanged", "inconclusive")


@dataclass(frozen=True)
class Change:
    """One metric (of all requests, or of one endpoint) against the baseline.

    `change` and its confidence interval are in `change_unit`: "percent" (relative change,
    +10 = 10 % higher), "pp" (percentage points) or the metric's own unit (an absolute limit).
    """

    metric: str
    endpoint: str | None
    unit: str  # the metric's unit, of baseline and current
    baseline: float | None
    current: float | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    change_unit: str
    verdict: ChangeVerdict
    limit: str  # the regression limit in the user's words, e.g. "p95 +10%"
    judged: bool  # True when the limit is configured, so a regression sets the exit code
    method: str  # "windows" (bootstrap over per-second values) or "runs" (run-level spread)
    detail: str | None = None


@dataclass(frozen=True)
class Comparison:
    baseline_runs: tuple[str, ...]
    baseline_kind: str  # "default" (last N passing alike runs), "pinned" or "given"
    differences: tuple[str, ...]  # how the baseline's plans differ from this run's, said aloud
    changes: tuple[Change, ...]
    confidence: float = 0.95
    series: dict[str, Any] = field(default_factory=dict)  # per-second overlays for the report

    @property
    def regressions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.judged and c.verdict == "regressed")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        return cls(
            baseline_runs=tuple(data["baseline_runs"]),
            baseline_kind=data["baseline_kind"],
            differences=tuple(data.get("differences", ())),
            changes=tuple(Change(**c) for c in data["changes"]),
            confidence=data.get("confidence", 0.95),
            series=data.get("series", {}),
        )
