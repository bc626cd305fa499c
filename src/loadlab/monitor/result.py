"""What the monitor hands back when it stops: the samples, their sources, and what they add up to.

The result is immutable; the aggregates are computed on demand for the steady phase the runner
knows (the monitor does not know when ramp-up ends). Besides the per-sample series it keeps the
cumulative counters and histogram buckets read at each sample, so percentiles and ratios over the
steady phase are exact differences rather than averages of per-second values.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.monitor import aggregates
from loadlab.monitor.app import RouteStats
from loadlab.monitor.prometheus import Buckets
from loadlab.monitor.series import SERIES
from loadlab.results import MonitorData
from loadlab.units import Measured

SAMPLES_CSV = "monitor.csv"


@dataclass(frozen=True)
class MonitorResult:
    interval_s: float
    sources: dict[str, str]  # "app" | "system" | "database" | "postgres" -> "ok" or the warning
    samples: tuple[dict[str, float | None], ...]  # each has "t_s" = monotonic() - clock_start
    cores: float = 1.0  # cores the target may use, the denominator of `cpu`
    routes: tuple[RouteStats, ...] = ()  # server-side, per route, over the whole monitored run
    counters: tuple[dict[str, float], ...] = field(default=(), repr=False)
    histograms: tuple[dict[str, Buckets], ...] = field(default=(), repr=False)

    def _inputs(self) -> aggregates.Inputs:
        return aggregates.Inputs(
            interval_s=self.interval_s,
            sources=self.sources,
            samples=self.samples,
            counters=self.counters,
            histograms=self.histograms,
            cores=self.cores,
        )

    def aggregates(self, steady_from_s: float, steady_to_s: float) -> dict[str, Measured]:
        """Threshold metric name -> measured value over the steady phase (docs/monitoring.md)."""
        return aggregates.compute(self._inputs(), steady_from_s, steady_to_s)

    def to_data(
        self,
        steady_from_s: float,
        steady_to_s: float,
        found: Mapping[str, Measured] | None = None,
    ) -> MonitorData:
        """The `monitor` section of summary.json; `found`: the aggregates, when already computed
        for the same window (the runner computes them once, for thresholds and summary alike)."""
        if found is None:
            found = self.aggregates(steady_from_s, steady_to_s)
        rss_start, rss_end = aggregates.rss_ends(self._inputs(), steady_from_s, steady_to_s)
        summary: dict[str, float | None] = {
            "steady_from_s": steady_from_s,
            "steady_to_s": steady_to_s,
            "cores": self.cores,
            "cpu_percent_mean_steady": found["target_cpu_percent"].value,
            "cpu_percent_of_allowed_cores": found["cpu"].value,
            "memory_growth_bytes_per_10m": found["memory_growth"].value,
            "rss_start_bytes": rss_start,
            "rss_end_bytes": rss_end,
            "target_rss_max_bytes": found["target_rss_max"].value,
            "generator_cpu_percent_max": found["generator_cpu_percent_max"].value,
            "server_p95_ms": found["server_p95"].value,
            "server_error_rate_percent": found["server_error_rate"].value,
            "db_query_p95_ms": found["db_query_p95"].value,
            "db_pool_wait_p95_ms": found["db_pool_wait_p95"].value,
            "cache_hit_rate_percent": found["cache_hit_rate"].value,
            "pg_cache_hit_rate_percent": found["pg_cache_hit_rate"].value,
        }
        return MonitorData(
            interval_s=self.interval_s,
            sources=dict(self.sources),
            samples=tuple({k: _finite(v) for k, v in row.items()} for row in self.samples),
            summary={k: _finite(v) for k, v in summary.items()},
        )


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity; such a value is no data."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, 6)


def _cell(value: float | None) -> str:
    finite = _finite(value)
    if finite is None:
        return ""
    return f"{finite:.6f}".rstrip("0").rstrip(".")


def write_samples_csv(result: MonitorResult, path: Path) -> Path:
    return write_samples(result.samples, path)


def write_samples(samples: Sequence[Mapping[str, float | None]], path: Path) -> Path:
    """One row per sample, one column per series (catalogue order first); empty cell = no data."""
    known = [s.name for s in SERIES]
    extra = sorted({k for row in samples for k in row} - set(known) - {"t_s"})
    columns = ["t_s", *known, *extra]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in samples:
            writer.writerow([_cell(row.get(c)) for c in columns])
    tmp.replace(path)
    return path
