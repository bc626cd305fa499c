"""From samples to the numbers thresholds judge, over the steady phase only.

The ramp-up is left out because a server warming up (imports, pools filling, caches cold) says
nothing about its steady cost. A sample belongs to the steady phase when the middle of the interval
it measured lies inside it. Percentiles and ratios are computed from the cumulative counters at the
window's two ends (as Prometheus does over a range), not averaged from per-second values, so a
quiet second weighs no more than a busy one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from loadlab.monitor.prometheus import Buckets, bucket_delta, bucket_quantile
from loadlab.monitor.series import SERIES_BY_NAME, unit_of
from loadlab.units import Measured

SampleRow = Mapping[str, float | None]
TEN_MINUTES_S = 600.0
MB = 1_000_000


@dataclass(frozen=True)
class Window:
    """The steady phase: its bounds and the indices of the samples inside it."""

    from_s: float
    to_s: float
    indices: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.from_s:g}..{self.to_s:g} s"


def steady_window(
    samples: Sequence[SampleRow], interval_s: float, from_s: float, to_s: float
) -> Window:
    chosen = tuple(
        i
        for i, row in enumerate(samples)
        if from_s <= (row.get("t_s") or 0.0) - interval_s / 2 <= to_s
    )
    return Window(from_s, to_s, chosen)


def mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The slope of the least-squares line through (x, y); None with fewer than two distinct x."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    mx, my = math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def series_values(
    samples: Sequence[SampleRow], window: Window, name: str
) -> tuple[list[float], list[float]]:
    """The (t_s, value) pairs of one series inside the window, skipping samples without it."""
    ts: list[float] = []
    values: list[float] = []
    for i in window.indices:
        value = samples[i].get(name)
        if value is not None:
            ts.append(samples[i].get("t_s") or 0.0)
            values.append(value)
    return ts, values


@dataclass(frozen=True)
class Inputs:
    """What the aggregates read: the MonitorResult's fields, without importing it."""

    interval_s: float
    sources: Mapping[str, str]
    samples: Sequence[SampleRow]
    counters: Sequence[Mapping[str, float]]  # len(samples) + 1; index 0 is the baseline
    histograms: Sequence[Mapping[str, Buckets]]  # the same
    cores: float


def compute(inputs: Inputs, from_s: float, to_s: float) -> dict[str, Measured]:
    """Every aggregate: one per series (mean, and `_max`), then the special ones on top."""
    window = steady_window(inputs.samples, inputs.interval_s, from_s, to_s)
    found: dict[str, Measured] = {}
    names = sorted({k for row in inputs.samples for k in row if k != "t_s"} | set(SERIES_BY_NAME))
    for name in names:
        found[name], found[f"{name}_max"] = _mean_and_max(inputs, window, name)
    found["cpu"] = cpu(inputs, window)
    found["memory_growth"] = memory_growth(inputs, window)
    rss_max = found["target_rss_bytes_max"]
    found["target_rss_max"] = Measured(rss_max.value, "bytes", rss_max.detail)
    for name, histogram, q, source in (
        ("server_p50", "server_duration", 0.5, "app"),
        ("server_p95", "server_duration", 0.95, "app"),
        ("server_p99", "server_duration", 0.99, "app"),
        ("db_query_p95", "db_query", 0.95, "database"),
        ("db_pool_wait_p95", "db_pool_wait", 0.95, "database"),
    ):
        found[name] = _histogram_quantile(inputs, window, histogram, q, source)
    for name, part, rest, source, is_error in (
        ("server_error_rate", "server_errors", "server_requests", "app", True),
        ("cache_hit_rate", "cache_hits", "cache_misses", "database", False),
        ("pg_cache_hit_rate", "pg_blks_hit", "pg_blks_read", "postgres", False),
    ):
        found[name] = _ratio(inputs, window, part, rest, source, is_error=is_error)
    return found


def _no_data(inputs: Inputs, window: Window, source: str | None, unit: str) -> Measured:
    status = inputs.sources.get(source or "", "ok")
    if status != "ok":
        return Measured(None, unit, f"no data: {status}")
    if not window.indices:
        why = f"no monitor samples in the steady phase {window.describe()}"
        return Measured(None, unit, f"no data: {why}")
    return Measured(None, unit, f"no data: no values in the steady phase {window.describe()}")


def _mean_and_max(inputs: Inputs, window: Window, name: str) -> tuple[Measured, Measured]:
    unit = unit_of(name)
    _, values = series_values(inputs.samples, window, name)
    if not values:
        source = SERIES_BY_NAME[name].monitor_source if name in SERIES_BY_NAME else None
        missing = _no_data(inputs, window, source, unit)
        return missing, missing
    how = f"over {len(values)} samples in {window.describe()}"
    return (
        Measured(math.fsum(values) / len(values), unit, f"mean {how}"),
        Measured(max(values), unit, f"highest {how}"),
    )


def cpu(inputs: Inputs, window: Window) -> Measured:
    _, values = series_values(inputs.samples, window, "target_cpu_percent")
    average = mean(values)
    if average is None:
        return _no_data(inputs, window, "system", "percent")
    share = average / (inputs.cores * 100) * 100
    detail = (
        f"mean target CPU {average:.1f} % of one core over {len(values)} samples in "
        f"{window.describe()}, {inputs.cores:g} core(s) allowed"
    )
    return Measured(share, "percent", detail)


def memory_growth(inputs: Inputs, window: Window) -> Measured:
    ts, rss = series_values(inputs.samples, window, "target_rss_bytes")
    slope = least_squares_slope(ts, rss)
    if slope is None:
        missing = _no_data(inputs, window, "system", "bytes_per_10m")
        if rss:
            return Measured(None, "bytes_per_10m", "no data: fewer than 2 RSS samples")
        return missing
    growth = slope * TEN_MINUTES_S
    detail = (
        f"least-squares slope of target RSS over {len(rss)} samples in {window.describe()}: "
        f"{growth / MB:+.1f} MB per 10 min; RSS {rss[0] / MB:.1f} MB at start, "
        f"{rss[-1] / MB:.1f} MB at end"
    )
    return Measured(growth, "bytes_per_10m", detail)


def rss_ends(inputs: Inputs, from_s: float, to_s: float) -> tuple[float | None, float | None]:
    """The first and last target RSS of the steady phase (reported beside memory_growth)."""
    window = steady_window(inputs.samples, inputs.interval_s, from_s, to_s)
    _, rss = series_values(inputs.samples, window, "target_rss_bytes")
    return (rss[0], rss[-1]) if rss else (None, None)


def _ends(
    inputs: Inputs, window: Window, table: Sequence[Mapping[str, object]], key: str
) -> tuple[int, int] | None:
    """Indices into `table` of the cumulative readings that bound the window and hold `key`."""
    if not window.indices or len(table) != len(inputs.samples) + 1:
        return None
    starts = [i for i in range(window.indices[0], window.indices[-1] + 1) if key in table[i]]
    ends = [i for i in range(window.indices[-1] + 1, window.indices[0], -1) if key in table[i]]
    if not starts or not ends or ends[0] <= starts[0]:
        return None
    return starts[0], ends[0]


def _histogram_quantile(
    inputs: Inputs, window: Window, key: str, q: float, source: str
) -> Measured:
    ends = _ends(inputs, window, inputs.histograms, key)
    if ends is None:
        return _no_data(inputs, window, source, "ms")
    start, end = ends
    buckets = bucket_delta(inputs.histograms[end][key], inputs.histograms[start][key])
    value = bucket_quantile(q, buckets)
    if value is None:
        return Measured(
            None, "ms", f"no data: nothing observed in the steady phase {window.describe()}"
        )
    count = int(buckets[-1][1]) if buckets else 0
    detail = f"p{q * 100:g} of {count} observations in {window.describe()} (histogram buckets)"
    return Measured(value * 1000.0, "ms", detail)


def _ratio(
    inputs: Inputs, window: Window, part_key: str, rest_key: str, source: str, *, is_error: bool
) -> Measured:
    ends = _ends(inputs, window, inputs.counters, part_key)
    if ends is None or rest_key not in inputs.counters[ends[0]]:
        return _no_data(inputs, window, source, "percent")
    start, end = ends
    first, last = inputs.counters[start], inputs.counters[end]
    part = last[part_key] - first[part_key]
    rest = last.get(rest_key, 0.0) - first[rest_key]
    # An error rate divides by all answers; a hit rate by hits plus misses.
    whole = rest if is_error else part + rest
    if whole <= 0 or part < 0:
        return Measured(
            None, "percent", f"no data: no events in the steady phase {window.describe()}"
        )
    detail = f"{part:g} of {whole:g} in {window.describe()}"
    return Measured(part / whole * 100, "percent", detail)
