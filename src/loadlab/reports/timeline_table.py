"""The per-second table that joins the load timeline with the monitor's samples.

The engine's timeline has one row per second; the monitor samples on its own interval, on the
same clock. Joining them on the whole second puts "p95 went up" next to "the pool was exhausted"
in one row, which is what the CSV and the charts show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from loadlab.results import RunSummary

TIMELINE_COLUMNS = (
    "users",
    "requests",
    "failures",
    "rps",
    "failures_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
)


@dataclass(frozen=True)
class JoinedTimeline:
    """Columns of equal length; `seconds` is the x axis (whole seconds since the run started)."""

    seconds: list[int]
    columns: dict[str, list[float | None]]
    monitor_columns: tuple[str, ...]

    def present(self, name: str) -> bool:
        """True when the column exists and has at least one value."""
        values = self.columns.get(name)
        return values is not None and any(v is not None for v in values)


def join_timeline(summary: RunSummary) -> JoinedTimeline:
    """One row per second that has a timeline point or a monitor sample, sorted by second.

    Several monitor samples in one second: the last one wins (it is the freshest reading).
    """
    by_second: dict[int, dict[str, float | None]] = {}
    for point in summary.timeline:
        by_second.setdefault(point.t_s, {}).update(
            users=point.users,
            requests=point.requests,
            failures=point.failures,
            rps=point.rps,
            failures_per_s=float(point.failures),
            p50_ms=point.p50_ms,
            p95_ms=point.p95_ms,
            p99_ms=point.p99_ms,
        )
    monitor_names: dict[str, str] = {}
    for sample in summary.monitor.samples:
        t_s = sample.get("t_s")
        if t_s is None or not math.isfinite(t_s):
            continue
        row = by_second.setdefault(math.floor(t_s), {})
        for key, value in sample.items():
            if key == "t_s":
                continue
            column = monitor_names.setdefault(
                key, f"monitor_{key}" if key in TIMELINE_COLUMNS else key
            )
            row[column] = value
    seconds = sorted(by_second)
    names = list(TIMELINE_COLUMNS) + sorted(monitor_names.values())
    columns = {name: [by_second[s].get(name) for s in seconds] for name in names}
    return JoinedTimeline(seconds, columns, tuple(sorted(monitor_names.values())))


def start_epoch_s(summary: RunSummary) -> float:
    """The exact moment load started (`started_at`) as Unix seconds."""
    started = datetime.fromisoformat(summary.started_at)
    if started.tzinfo is None:
        # summary.json writes UTC; a naive time is read the same way rather than as local time.
        started = started.replace(tzinfo=UTC)
    return started.timestamp()


def origin_epoch_s(summary: RunSummary) -> int:
    """The run clock's origin (loadlab.clock): the whole second in which load started.

    Timeline and monitor `t_s` count from it, so `origin_epoch_s + t_s` is a row's wall-clock
    time; `started_at` is later by its milliseconds and would shift every row by them.
    """
    return math.floor(start_epoch_s(summary))
