"""Database series: query time, pool use, lock contention and cache hits.

Two sources. The platform's own `platform_db_*` and `platform_cache_*` series (in every scrape of
`/metrics`) work for SQLite and PostgreSQL alike. With a PostgreSQL URL, the statistics views
(`pg_stat_database`, `pg_locks`, `pg_stat_activity`) are read directly, in one query per interval
on one autocommit connection, so they are measured even when the target exposes no metrics.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import psycopg

from loadlab.monitor.health import SourceHealth
from loadlab.monitor.prometheus import Buckets, Scrape, bucket_delta, bucket_quantile

Sample = dict[str, float | None]

QUERY = "platform_db_query_duration_seconds"
POOL_WAIT = "platform_db_pool_wait_seconds"
BUSY_WAITS = "platform_db_busy_waits_total"
DEADLOCKS = "platform_db_deadlocks_total"
CACHE_HITS = "platform_cache_hits_total"
CACHE_MISSES = "platform_cache_misses_total"
_GAUGES = {
    "db_pool_size": "platform_db_pool_size",
    "db_pool_checked_out": "platform_db_pool_checked_out",
    "db_pool_overflow": "platform_db_pool_overflow",
    "db_pool_waiters": "platform_db_pool_waiters",
    "db_lock_waits": "platform_db_lock_waits",
}
_KEYS = (
    *_GAUGES,
    "db_query_p95_ms",
    "db_pool_wait_p95_ms",
    "db_busy_waits_per_s",
    "db_deadlocks",
    "cache_hit_rate",
)


class PlatformDbSampler:
    """The platform's database and cache series, as rates and percentiles per interval."""

    def __init__(self) -> None:
        self.health = SourceHealth("database")
        self._prev: tuple[float, dict[str, float], dict[str, Buckets]] | None = None
        self._deadlocks_at_start: float | None = None

    def counters(self, scrape: Scrape | None) -> tuple[dict[str, float], dict[str, Buckets]]:
        """The cumulative values the steady-window aggregates subtract."""
        counters: dict[str, float] = {}
        buckets: dict[str, Buckets] = {}
        if scrape is None:
            return counters, buckets
        for key, name in (
            ("db_busy_waits", BUSY_WAITS),
            ("db_deadlocks", DEADLOCKS),
            ("cache_hits", CACHE_HITS),
            ("cache_misses", CACHE_MISSES),
        ):
            value = scrape.total(name)
            if value is not None:
                counters[key] = value
        for key, name in (("db_query", QUERY), ("db_pool_wait", POOL_WAIT)):
            found = scrape.buckets(name)
            if found is not None:
                buckets[key] = found
        return counters, buckets

    def sample(self, now: float, scrape: Scrape | None, app_missing: str | None) -> Sample:
        row: Sample = dict.fromkeys(_KEYS)
        if scrape is None:
            # The app source has already warned that /metrics cannot be read.
            self.health.fail(
                app_missing or "no /metrics: database series are not measured", warn=False
            )
            return row
        if not any(scrape.has(name) for name in _GAUGES.values()):
            self.health.fail(
                "no platform_db_* series in /metrics: pool, query and lock series are not measured"
            )
            return row
        self.health.ok()
        for key, name in _GAUGES.items():
            row[key] = scrape.total(name)
        counters, buckets = self.counters(scrape)
        if self._deadlocks_at_start is None:
            self._deadlocks_at_start = counters.get("db_deadlocks")
        if "db_deadlocks" in counters and self._deadlocks_at_start is not None:
            row["db_deadlocks"] = counters["db_deadlocks"] - self._deadlocks_at_start
        if self._prev is not None:
            row.update(_interval_series(now, counters, buckets, self._prev))
        self._prev = (now, counters, buckets)
        return row


def _interval_series(
    now: float,
    counters: dict[str, float],
    buckets: dict[str, Buckets],
    prev: tuple[float, dict[str, float], dict[str, Buckets]],
) -> Sample:
    then, before, before_buckets = prev
    dt_s = now - then
    row: Sample = {}
    if "db_query" in buckets:
        window = bucket_delta(buckets["db_query"], before_buckets.get("db_query"))
        row["db_query_p95_ms"] = _ms(bucket_quantile(0.95, window))
    if "db_pool_wait" in buckets:
        window = bucket_delta(buckets["db_pool_wait"], before_buckets.get("db_pool_wait"))
        row["db_pool_wait_p95_ms"] = _ms(bucket_quantile(0.95, window))
    if "db_busy_waits" in counters and "db_busy_waits" in before and dt_s > 0:
        waits = counters["db_busy_waits"] - before["db_busy_waits"]
        row["db_busy_waits_per_s"] = max(0.0, waits) / dt_s
    row["cache_hit_rate"] = hit_rate(counters, before, "cache_hits", "cache_misses")
    return row


def hit_rate(
    now: dict[str, float], before: dict[str, float], hits_key: str, misses_key: str
) -> float | None:
    """Hits / (hits + misses) between two readings of cumulative counters, in percent."""
    if not all(k in d for d in (now, before) for k in (hits_key, misses_key)):
        return None
    hits = now[hits_key] - before[hits_key]
    misses = now[misses_key] - before[misses_key]
    if hits < 0 or misses < 0 or hits + misses == 0:
        return None
    return hits / (hits + misses) * 100


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


_RETRY_S = 10.0
_PG_QUERY = """
SELECT d.blks_hit, d.blks_read, d.deadlocks,
       (SELECT count(*) FROM pg_locks WHERE NOT granted),
       (SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid())
FROM pg_stat_database d WHERE d.datname = current_database()
"""


def libpq_url(db_url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://`) as libpq reads it (`postgresql://`)."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", db_url)


def redact(db_url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", db_url)


class PostgresSampler:
    """PostgreSQL's own statistics: buffer cache hit ratio, waiting locks, active sessions."""

    def __init__(self, db_url: str, timeout_s: float) -> None:
        self.health = SourceHealth("postgres")
        self._url = libpq_url(db_url)
        self._timeout_s = timeout_s
        self._conn: psycopg.Connection[Any] | None = None
        self._prev: dict[str, float] | None = None
        self._deadlocks_at_start: float | None = None
        self._retry_at = 0.0

    def counters(self) -> dict[str, float]:
        return dict(self._prev or {})

    def sample(self, now: float) -> Sample:
        row: Sample = dict.fromkeys(
            ("pg_cache_hit_rate", "pg_waiting_locks", "pg_active_connections", "pg_deadlocks")
        )
        if self._conn is None and now < self._retry_at:
            self.health.fail(self.health.message or "PostgreSQL unreachable")
            return row
        try:
            found = self._query()
        except psycopg.Error as exc:
            self._close_quietly()
            # A server that does not answer would cost a connect timeout every interval.
            self._retry_at = now + _RETRY_S
            text = str(exc).strip()
            first_line = text.splitlines()[0] if text else type(exc).__name__
            self.health.fail(f"PostgreSQL unreachable at {redact(self._url)}: {first_line}")
            return row
        if found is None:
            self.health.fail(f"no pg_stat_database row for the database of {redact(self._url)}")
            return row
        self.health.ok()
        hits, reads, deadlocks, waiting, active = (float(v) for v in found)
        blocks = {"pg_blks_hit": hits, "pg_blks_read": reads}
        if self._deadlocks_at_start is None:
            self._deadlocks_at_start = deadlocks
        if self._prev is not None:
            row["pg_cache_hit_rate"] = hit_rate(blocks, self._prev, "pg_blks_hit", "pg_blks_read")
        row["pg_deadlocks"] = deadlocks - self._deadlocks_at_start
        row["pg_waiting_locks"] = waiting
        row["pg_active_connections"] = active
        self._prev = blocks
        return row

    def _query(self) -> tuple[Any, ...] | None:
        if self._conn is None:
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=max(1, int(self._timeout_s)),
                application_name="loadlab-monitor",
            )
        return self._conn.execute(_PG_QUERY).fetchone()

    def _close_quietly(self) -> None:
        if self._conn is not None:
            # Already broken, perhaps: closing is only to free the socket.
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._close_quietly()
