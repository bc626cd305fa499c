"""The catalogue of the monitor's series and aggregate names, with their units.

One table serves three readers: the aggregates (which unit a mean carries), the threshold parser
(which metric names exist, for its usage error) and docs/monitoring.md (kept in step by a test).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    name: str
    unit: str  # the unit of the values in the samples
    source: str  # "system", "app", "database" or "postgres"
    meaning: str


SERIES: tuple[Series, ...] = (
    Series("target_cpu_percent", "percent", "system", "target process tree CPU, of one core"),
    Series("target_rss_bytes", "bytes", "system", "target process tree resident memory"),
    Series("target_threads", "count", "system", "threads in the target process tree"),
    Series("target_open_fds", "count", "system", "open file descriptors of the target tree"),
    Series("target_disk_read_bytes_per_s", "bytes_per_s", "system", "target tree storage reads"),
    Series("target_disk_write_bytes_per_s", "bytes_per_s", "system", "target tree storage writes"),
    Series("target_net_sent_bytes_per_s", "bytes_per_s", "system", "host-wide bytes sent"),
    Series("target_net_recv_bytes_per_s", "bytes_per_s", "system", "host-wide bytes received"),
    Series("host_cpu_percent", "percent", "system", "host CPU busy, of one core"),
    Series("host_memory_used_bytes", "bytes", "system", "host memory in use"),
    Series("generator_cpu_percent", "percent", "system", "load generator processes, of one core"),
    Series(
        "generator_max_process_cpu_percent",
        "percent",
        "system",
        "the busiest single load generator process, of one core",
    ),
    Series("server_rps", "per_s", "app", "requests the target answered per second"),
    Series("server_error_rate", "rate", "app", "share of answers with status >= 500, 0..1"),
    Series("server_p50_ms", "ms", "app", "server-side latency median"),
    Series("server_p95_ms", "ms", "app", "server-side latency 95th percentile"),
    Series("server_p99_ms", "ms", "app", "server-side latency 99th percentile"),
    Series("server_in_flight", "count", "app", "requests in progress inside the target"),
    Series("db_query_p95_ms", "ms", "database", "95th percentile of query time"),
    Series("db_pool_size", "count", "database", "connection pool size"),
    Series("db_pool_checked_out", "count", "database", "pooled connections in use"),
    Series("db_pool_overflow", "count", "database", "connections opened beyond the pool size"),
    Series("db_pool_waiters", "count", "database", "requests waiting for a connection"),
    Series("db_pool_wait_p95_ms", "ms", "database", "95th percentile of pool checkout wait"),
    Series("db_busy_waits_per_s", "per_s", "database", "SQLite busy waits per second"),
    Series("db_lock_waits", "count", "database", "PostgreSQL sessions waiting on a lock"),
    Series("db_deadlocks", "count", "database", "PostgreSQL deadlocks since the monitor started"),
    Series("cache_hit_rate", "percent", "database", "the platform's caches, hits / lookups"),
    Series("pg_cache_hit_rate", "percent", "postgres", "buffer cache hits / block reads"),
    Series("pg_waiting_locks", "count", "postgres", "pg_locks rows not granted"),
    Series("pg_active_connections", "count", "postgres", "active sessions on the database"),
    Series("pg_deadlocks", "count", "postgres", "deadlocks since the monitor started"),
)

SERIES_BY_NAME: dict[str, Series] = {s.name: s for s in SERIES}

# Aggregates computed from the whole steady window rather than as a mean of per-sample values:
# name -> (unit of the Measured, how it is computed). Every series X also gives X and X_max.
SPECIAL_AGGREGATES: dict[str, tuple[str, str]] = {
    "cpu": ("percent", "mean target CPU over the steady phase / (cores * 100) * 100"),
    "memory_growth": ("bytes_per_10m", "least-squares slope of target RSS x 600 s"),
    "target_rss_max": ("bytes", "highest target RSS in the steady phase"),
    "server_p50": ("ms", "median of the request-duration histogram over the steady phase"),
    "server_p95": ("ms", "95th percentile of the request-duration histogram, steady phase"),
    "server_p99": ("ms", "99th percentile of the request-duration histogram, steady phase"),
    "server_error_rate": ("percent", "answers >= 500 / all answers over the steady phase"),
    "db_query_p95": ("ms", "95th percentile of the query-duration histogram, steady phase"),
    "db_pool_wait_p95": ("ms", "95th percentile of the pool-wait histogram, steady phase"),
    "cache_hit_rate": ("percent", "cache hits / lookups over the steady phase"),
    "pg_cache_hit_rate": ("percent", "blks_hit / (blks_hit + blks_read) over the steady phase"),
}


def unit_of(name: str) -> str:
    """The unit of a series: from the catalogue, else from the name's suffix."""
    known = SERIES_BY_NAME.get(name)
    if known is not None:
        return known.unit
    for suffix, unit in (
        ("_bytes_per_s", "bytes_per_s"),
        ("_per_s", "per_s"),
        ("_bytes", "bytes"),
        ("_ms", "ms"),
        ("_percent", "percent"),
        ("_rate", "rate"),
    ):
        if name.endswith(suffix):
            return unit
    return "count"


def aggregate_names() -> tuple[str, ...]:
    """Every threshold metric name the monitor can answer, sorted (for a usage error's list)."""
    names = set(SPECIAL_AGGREGATES)
    for series in SERIES:
        names.add(series.name)
        names.add(f"{series.name}_max")
    return tuple(sorted(names))
