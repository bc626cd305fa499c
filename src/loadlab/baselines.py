"""Which runs a run is compared with, and what a regression does to its verdict.

By default the last N passing runs of the same scenario, engine, plan and target; or the runs
pinned with `loadlab baseline set`; or the runs given to `loadlab compare` (docs/baselines.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from loadlab.comparison import RunData, compare
from loadlab.comparison_result import Change, Comparison
from loadlab.errors import EXIT_INCONCLUSIVE, EXIT_PASSED, EXIT_THRESHOLD_FAILED
from loadlab.history_config import HistorySettings
from loadlab.history_store import HistoryStore
from loadlab.metrics import format_value
from loadlab.results import Verdict
from loadlab.trends import trend

TREND_RUNS = 30


def baseline_for(
    store: HistoryStore, current: RunData, settings: HistorySettings, given: Sequence[str] = ()
) -> tuple[list[RunData], str]:
    if given:
        return store.load(given), "given"
    pinned = store.pinned(current.scenario, current.engine)
    if pinned:
        return store.load([r for r in pinned if r != current.run_id]), "pinned"
    return store.load(store.last_passing(current, settings.baseline_runs)), "default"


def compare_run(
    store: HistoryStore, current: RunData, settings: HistorySettings, given: Sequence[str] = ()
) -> Comparison | None:
    """The comparison with the run's baseline, the trend included; None without a baseline."""
    baseline, kind = baseline_for(store, current, settings, given)
    if not baseline:
        return None
    found = compare(
        current, baseline, settings.limits(), judged=settings.judged, baseline_kind=kind
    )
    rows = store.rows(scenario=current.scenario, limit=TREND_RUNS)
    rows = [r for r in rows if r["engine"] == current.engine and r["run_id"] != current.run_id]
    now = {"run_id": current.run_id, "started_at": current.started_at, "totals": current.totals}
    return replace(found, series={**found.series, "trend": trend([*rows, now]).to_dict()})


def describe_change(change: Change) -> str:
    """e.g. "p95 +52.1% [+31.0%, +70.4%] (limit p95 +10%)"."""
    where = f"[{change.endpoint}]" if change.endpoint else ""
    return f"{change.metric}{where} {change_text(change)} (limit {change.limit})"


def change_text(change: Change) -> str:
    """The change and its interval, e.g. "+52.1% [+31.0%, +70.4%]"; "?" without an estimate."""
    if change.change is None:
        return "?"
    low, high = change.ci_low, change.ci_high
    if low is None or high is None:
        return _amount(change.change, change)
    return f"{_amount(change.change, change)} [{_amount(low, change)}, {_amount(high, change)}]"


def _amount(value: float, change: Change) -> str:
    if change.change_unit == "percent":
        return f"{value:+.1f}%"
    if change.change_unit == "pp":
        return f"{value:+.3f}pp"
    sign = "+" if value >= 0 else "-"
    return sign + format_value(abs(value), change.change_unit)


def with_regressions(verdict: Verdict, comparison: Comparison) -> Verdict:
    """A judged regression fails the run (exit 1) and is named in the reason."""
    regressed = comparison.regressions
    if not regressed:
        return verdict
    runs = len(comparison.baseline_runs)
    said = (
        f"regressed against {runs} baseline run{'s' if runs != 1 else ''} "
        f"({', '.join(comparison.baseline_runs)}): "
        + "; ".join(describe_change(c) for c in regressed)
    )
    if verdict.exit_code in (EXIT_PASSED, EXIT_INCONCLUSIVE):
        return replace(verdict, passed=False, exit_code=EXIT_THRESHOLD_FAILED, reason=said)
    return replace(verdict, reason=f"{verdict.reason}; {said}")


def comparison_lines(comparison: Comparison) -> list[str]:
    """What the terminal shows: the baseline, what differs, one line per change."""
    kinds = {"default": "the last passing runs alike", "pinned": "pinned", "given": "given"}
    lines = [
        f"baseline ({kinds.get(comparison.baseline_kind, comparison.baseline_kind)}): "
        + ", ".join(comparison.baseline_runs)
    ]
    lines.extend(f"  differs: {d}" for d in comparison.differences)
    for change in comparison.changes:
        values = " -> ".join(
            "-" if v is None else format_value(v, change.unit)
            for v in (change.baseline, change.current)
        )
        judged = "" if change.judged else " (not judged)"
        note = f"  ({change.detail})" if change.detail and change.change is None else ""
        lines.append(
            f"{change.verdict.upper():<13}{describe_change(change):<58} {values}{judged}{note}"
        )
    return lines
