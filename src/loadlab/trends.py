"""Headline metrics across the last runs of a scenario, with change points found by `ruptures`
(PELT with the least-absolute-deviation cost, segments of at least 3 runs, on the series scaled
by its run-to-run noise: the median absolute difference of neighbours), so one odd run is an
outlier and a lasting step is a change point."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The headline metrics: the name in the totals, and how a person reads it.
HEADLINE = {"p50_ms": "p50 ms", "p95_ms": "p95 ms", "p99_ms": "p99 ms", "rps": "req/s",
            "error_rate": "errors %"}  # fmt: skip
MIN_POINTS = 4  # fewer runs than this show no change points
MIN_SEGMENT = 3  # runs: one odd run is an outlier, not a new level
PENALTY_PER_LOG_N = 3.0  # BIC-like: a change point must buy this much cost per log(runs)


@dataclass(frozen=True)
class Trend:
    run_ids: tuple[str, ...]
    started_at: tuple[str, ...]
    values: Mapping[str, tuple[float | None, ...]]  # HEADLINE key -> one value per run
    change_points: Mapping[str, tuple[int, ...]]  # HEADLINE key -> indexes where a level starts

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_ids": list(self.run_ids),
            "started_at": list(self.started_at),
            "values": {k: list(v) for k, v in self.values.items()},
            "change_points": {k: list(v) for k, v in self.change_points.items()},
        }


def change_points(values: Sequence[float | None]) -> tuple[int, ...]:
    """Indexes of `values` where a new level starts; runs without a value are skipped."""
    known = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(known) < MIN_POINTS:
        return ()
    import numpy as np  # with ruptures below: not at every command's start-up

    signal = np.array([v for _, v in known])
    # The noise of one run against the next, robust to the steps themselves (a Gaussian's sigma
    # is 1.4826 MAD; a difference of two has sqrt(2) sigma).
    noise = 1.4826 * float(np.median(np.abs(np.diff(signal)))) / math.sqrt(2.0)
    if noise == 0:
        noise = float(np.std(signal)) or 1.0
    scaled = ((signal - float(np.median(signal))) / noise).reshape(-1, 1)
    import ruptures  # imported when a trend is asked for: not at every command's start-up

    algorithm = ruptures.Pelt(model="l1", min_size=MIN_SEGMENT, jump=1).fit(scaled)
    breaks = algorithm.predict(pen=PENALTY_PER_LOG_N * math.log(len(known)))
    return tuple(known[b][0] for b in breaks if b < len(known))


def trend(rows: Sequence[Mapping[str, Any]]) -> Trend:
    """The trend of history rows (oldest first), as `HistoryStore.rows` returns them."""
    totals = [
        json.loads(r["totals"]) if isinstance(r["totals"], str) else r["totals"] for r in rows
    ]
    values = {key: tuple(t.get(key) for t in totals) for key in HEADLINE}
    return Trend(
        run_ids=tuple(r["run_id"] for r in rows),
        started_at=tuple(r["started_at"] for r in rows),
        values=values,
        change_points={key: change_points(series) for key, series in values.items()},
    )


def format_trend(found: Trend) -> list[str]:
    """One row per run; a metric whose level changes at that run is marked with `*`."""
    header = f"{'run':<34}" + "".join(f"{name:>11}" for name in HEADLINE.values())
    lines = [header]
    for index, run_id in enumerate(found.run_ids):
        cells = []
        for key in HEADLINE:
            value = found.values[key][index]
            mark = "*" if index in found.change_points[key] else " "
            cells.append(f"{'-' if value is None else f'{value:.1f}':>10}{mark}")
        lines.append(f"{run_id:<34}" + "".join(cells))
    marked = sorted({HEADLINE[k] for k, v in found.change_points.items() if v})
    lines.append(
        f"* a change point (ruptures PELT): {', '.join(marked)}" if marked else "no change points"
    )
    return lines
