"""The one catalogue of metrics: every name loadlab measures, with its unit, scale and formatting.

Thresholds parse limits with it, the monitor and the aggregates take units from it, and every
report formats and charts values through it: a metric means the same thing wherever it appears.
One scale per unit: `percent` is 0..100 everywhere (error rates included), `ms` milliseconds,
`bytes` bytes. Nothing here guesses a unit from a name's suffix; an unknown name is a `count`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from loadlab.units import (
    parse_growth_bytes_per_10m,
    parse_latency_ms,
    parse_percent,
    parse_rate_per_s,
    parse_size,
)


def _count(text: str) -> float:
    if not re.fullmatch(r"\d+", text.strip()):
        raise ValueError(f"bad count {text!r}; use a whole number")
    return float(text)


def _bytes_per_s(text: str) -> float:
    size, slash, period = text.partition("/")
    if slash and period.strip() == "s":
        return parse_size(size)
    raise ValueError(f"bad rate {text!r}; use e.g. 10MB/s")


def _seconds(text: str) -> float:
    return parse_latency_ms(text) / 1000.0


@dataclass(frozen=True)
class Unit:
    """How values of one unit are written by a user, shown to a person, and charted."""

    name: str
    parse_limit: Callable[[str], float]
    example: str  # a limit in this unit, for usage errors
    suffix: str  # shown after the number; bytes units get an SI prefix in front of it
    chart_unit: str
    chart_scale: float  # value * scale is what a chart's axis shows


UNITS: dict[str, Unit] = {
    u.name: u
    for u in (
        Unit("ms", parse_latency_ms, "300ms", " ms", "ms", 1.0),
        Unit("s", _seconds, "30s", " s", "s", 1.0),
        Unit("percent", parse_percent, "80%", "%", "%", 1.0),
        Unit("bytes", parse_size, "500MB", "B", "MB", 1e-6),
        Unit("bytes_per_s", _bytes_per_s, "10MB/s", "B/s", "KB/s", 1e-3),
        Unit("bytes_per_10m", parse_growth_bytes_per_10m, "100MB/10m", "B/10m", "MB/10m", 1e-6),
        Unit("per_s", parse_rate_per_s, "100/s", "/s", "/s", 1.0),
        Unit("count", _count, "10", "", "", 1.0),
    )
}
_BYTES_UNITS = frozenset({"bytes", "bytes_per_s", "bytes_per_10m"})
_SI_PREFIXES = ("", "k", "M", "G", "T")


def monitor_source(source: str) -> str:
    """The monitor's name for a metric's source: psutil's "system" reads the target and host."""
    return "system" if source in ("target", "host") else source


@dataclass(frozen=True)
class Metric:
    """One measured name. `source` says what must exist for it to be measured:
    "client" (the engine), "target" (the target's process: a pid or its process_* series),
    "app" (the target's /metrics), "database" (the platform's /metrics), "postgres" (--db-url),
    "host" (this machine)."""

    name: str
    unit: str
    source: str
    meaning: str
    client_side: bool = False
    max_limit: float | None = None  # a share (0..100 %): a limit above it can never be met

    def __post_init__(self) -> None:
        if self.max_limit is None and self.name in _SHARES:
            object.__setattr__(self, "max_limit", 100.0)

    @property
    def monitor_source(self) -> str:
        """The monitor's source whose health explains missing values ("system" for psutil)."""
        return monitor_source(self.source)

    def parse_limit(self, text: str) -> float:
        return UNITS[self.unit].parse_limit(text)

    @property
    def example(self) -> str:
        return f"{self.name} < {UNITS[self.unit].example}"


# Percentages of a whole, never above 100 (CPU "of one core" can be; `cpu` is of allowed cores).
_SHARES = frozenset(
    {
        "error_rate",
        "server_error_rate",
        "server_error_rate_max",
        "cache_hit_rate",
        "cache_hit_rate_max",
        "pg_cache_hit_rate",
        "pg_cache_hit_rate_max",
        "cpu",
        "dropped_rate",
    }
)

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}

CLIENT: tuple[Metric, ...] = (
    *(
        Metric(n, "ms", "client", f"{p:g}th percentile latency", True)
        for n, p in PERCENTILES.items()
    ),
    Metric("mean", "ms", "client", "mean latency", True),
    Metric("max", "ms", "client", "highest latency", True),
    Metric("error_rate", "percent", "client", "failed / all requests, 0..100", True),
    Metric("throughput", "per_s", "client", "requests / measured duration", True),
    Metric("requests", "count", "client", "requests made", True),
    Metric("failures", "count", "client", "requests failed", True),
    # Open model (docs/capacity.md): p50..p999 count from the moment a request was due; these
    # count from the moment it was sent. In a closed-model run both are the same numbers.
    *(
        Metric(f"service_{n}", "ms", "client", f"{p:g}th percentile latency from sending", True)
        for n, p in PERCENTILES.items()
    ),
    Metric("dropped_arrivals", "count", "client", "open model: arrivals never sent"),
    Metric("dropped_rate", "percent", "client", "open model: dropped / due arrivals, 0..100"),
    Metric("late_arrivals", "count", "client", "open model: arrivals started over 100 ms late"),
)

# The monitor's series: the values in its samples. Each series X also gives thresholds X (mean
# over the steady phase) and X_max.
SERIES: tuple[Metric, ...] = (
    Metric("target_cpu_percent", "percent", "target", "target process tree CPU, of one core"),
    Metric("target_rss_bytes", "bytes", "target", "target process tree resident memory"),
    Metric("target_threads", "count", "target", "threads in the target process tree"),
    Metric("target_open_fds", "count", "target", "open file descriptors of the target tree"),
    Metric("target_disk_read_bytes_per_s", "bytes_per_s", "target", "target tree storage reads"),
    Metric("target_disk_write_bytes_per_s", "bytes_per_s", "target", "target tree storage writes"),
    Metric("target_net_sent_bytes_per_s", "bytes_per_s", "host", "host-wide bytes sent"),
    Metric("target_net_recv_bytes_per_s", "bytes_per_s", "host", "host-wide bytes received"),
    Metric("host_cpu_percent", "percent", "host", "host CPU busy, of one core"),
    Metric("host_memory_used_bytes", "bytes", "host", "host memory in use"),
    Metric("generator_cpu_percent", "percent", "host", "load generator processes, of one core"),
    Metric(
        "generator_max_process_cpu_percent",
        "percent",
        "host",
        "the busiest single load generator process, of one core",
    ),
    Metric("server_rps", "per_s", "app", "requests the target answered per second"),
    Metric("server_error_rate", "percent", "app", "share of answers with status >= 500, 0..100"),
    Metric("server_p50_ms", "ms", "app", "server-side latency median"),
    Metric("server_p95_ms", "ms", "app", "server-side latency 95th percentile"),
    Metric("server_p99_ms", "ms", "app", "server-side latency 99th percentile"),
    Metric("server_in_flight", "count", "app", "requests in progress inside the target"),
    Metric("db_query_p95_ms", "ms", "database", "95th percentile of query time"),
    Metric("db_pool_size", "count", "database", "connection pool size"),
    Metric("db_pool_checked_out", "count", "database", "pooled connections in use"),
    Metric("db_pool_overflow", "count", "database", "connections opened beyond the pool size"),
    Metric("db_pool_waiters", "count", "database", "requests waiting for a connection"),
    Metric("db_pool_wait_p95_ms", "ms", "database", "95th percentile of pool checkout wait"),
    Metric("db_busy_waits_per_s", "per_s", "database", "SQLite busy waits per second"),
    Metric("db_lock_waits", "count", "database", "PostgreSQL sessions waiting on a lock"),
    Metric("db_deadlocks", "count", "database", "PostgreSQL deadlocks since the monitor started"),
    Metric("cache_hit_rate", "percent", "database", "the platform's caches, hits / lookups"),
    Metric("pg_cache_hit_rate", "percent", "postgres", "buffer cache hits / block reads"),
    Metric("pg_waiting_locks", "count", "postgres", "pg_locks rows not granted"),
    Metric("pg_active_connections", "count", "postgres", "active sessions on the database"),
    Metric("pg_deadlocks", "count", "postgres", "deadlocks since the monitor started"),
)

# Aggregates computed from the whole steady window rather than as a mean of per-sample values.
AGGREGATES: tuple[Metric, ...] = (
    Metric(
        "cpu", "percent", "target", "mean target CPU over the steady phase / (cores * 100) * 100"
    ),
    Metric("memory_growth", "bytes_per_10m", "target", "least-squares slope of target RSS x 600 s"),
    Metric("target_rss_max", "bytes", "target", "highest target RSS in the steady phase"),
    Metric("server_p50", "ms", "app", "median of the request-duration histogram, steady phase"),
    Metric("server_p95", "ms", "app", "95th percentile of the request-duration histogram"),
    Metric("server_p99", "ms", "app", "99th percentile of the request-duration histogram"),
    Metric("server_error_rate", "percent", "app", "answers >= 500 / all answers, steady phase"),
    Metric("db_query_p95", "ms", "database", "95th percentile of the query-duration histogram"),
    Metric("db_pool_wait_p95", "ms", "database", "95th percentile of the pool-wait histogram"),
    Metric("cache_hit_rate", "percent", "database", "cache hits / lookups over the steady phase"),
    Metric("pg_cache_hit_rate", "percent", "postgres", "blks_hit / (blks_hit + blks_read), steady"),
)

# The keys of summary.json's monitor.summary, so the reports format them from here too.
MONITOR_SUMMARY: tuple[Metric, ...] = (
    Metric("steady_from_s", "s", "client", "start of the steady phase on the run's clock"),
    Metric("steady_to_s", "s", "client", "end of the steady phase on the run's clock"),
    Metric("cores", "count", "target", "cores the target may use"),
    Metric("cpu_percent_mean_steady", "percent", "target", "mean target CPU, of one core"),
    Metric("cpu_percent_of_allowed_cores", "percent", "target", "the `cpu` threshold's value"),
    Metric("memory_growth_bytes_per_10m", "bytes_per_10m", "target", "the `memory_growth` value"),
    Metric("rss_start_bytes", "bytes", "target", "target RSS at the start of the steady phase"),
    Metric("rss_end_bytes", "bytes", "target", "target RSS at the end of the steady phase"),
    Metric("target_rss_max_bytes", "bytes", "target", "highest target RSS, steady phase"),
    Metric("generator_cpu_percent_max", "percent", "host", "busiest load generator moment"),
    Metric("server_p95_ms", "ms", "app", "the `server_p95` value"),
    Metric("server_error_rate_percent", "percent", "app", "the `server_error_rate` value"),
    Metric("db_query_p95_ms", "ms", "database", "the `db_query_p95` value"),
    Metric("db_pool_wait_p95_ms", "ms", "database", "the `db_pool_wait_p95` value"),
    Metric("cache_hit_rate_percent", "percent", "database", "the `cache_hit_rate` value"),
    Metric("pg_cache_hit_rate_percent", "percent", "postgres", "the `pg_cache_hit_rate` value"),
)


def _threshold_metrics() -> dict[str, Metric]:
    found = {m.name: m for m in CLIENT}
    found.update({m.name: m for m in AGGREGATES})
    for series in SERIES:
        found.setdefault(series.name, series)
        maximum = f"{series.name}_max"
        found.setdefault(
            maximum, Metric(maximum, series.unit, series.source, f"highest {series.name}")
        )
    return found


# Every name a threshold may use.
THRESHOLD_METRICS: dict[str, Metric] = _threshold_metrics()
_BY_NAME: dict[str, Metric] = {
    **{m.name: m for m in MONITOR_SUMMARY},
    **{m.name: m for m in SERIES},
    **THRESHOLD_METRICS,
}


def metric(name: str) -> Metric | None:
    return _BY_NAME.get(name)


def unit_of(name: str) -> str:
    """The catalogued unit of a metric, series or monitor summary key; `count` when unknown."""
    found = _BY_NAME.get(name)
    return found.unit if found else "count"


def format_number(value: float) -> str:
    """Four or so significant digits, trailing zeros dropped: 612.3, 0.25, 1500, 0.000123."""
    magnitude = abs(value)
    if magnitude >= 100:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    elif magnitude == 0:
        return "0"
    else:
        text = f"{value:.3g}"
        if "e" in text:
            return text
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_value(value: float | None, unit: str) -> str:
    """A value with its unit for a person: "612.3 ms", "0.25%", "12.5 MB/s"; or "no data"."""
    if value is None:
        return "no data"
    spec = UNITS.get(unit)
    if spec is None:
        return f"{format_number(value)} {unit}".rstrip()
    if unit in _BYTES_UNITS:
        scaled, step = value, 0
        while abs(scaled) >= 1000 and step < len(_SI_PREFIXES) - 1:
            scaled, step = scaled / 1000, step + 1
        return f"{format_number(scaled)} {_SI_PREFIXES[step]}{spec.suffix}"
    return f"{format_number(value)}{spec.suffix}"


def chart_unit(name: str) -> tuple[str, float]:
    """The axis label and scale a chart of this series uses."""
    spec = UNITS[unit_of(name)]
    return spec.chart_unit, spec.chart_scale
