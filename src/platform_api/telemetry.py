"""Prometheus metrics of one app instance, served at `/metrics`.

Each app owns its registry, so two apps in one process (tests) never share counters. Routes are
labelled by their template, never by the raw path, so the number of series stays bounded.

Figures that need a query (execution queue depth, PostgreSQL lock waits and deadlocks) are read by
a background sampler on its own connection, at most once per scrape and never inside one: a scrape
never waits for the database, even when the request pool is exhausted.

With several server processes (`platform-api serve --workers N`), `serve` sets
`PROMETHEUS_MULTIPROC_DIR` before the workers start and every scrape reports the sum over all of
them: counters and histograms add up, the in-flight and pool gauges are summed over live processes,
and the `process_*` series are sums too (CPU seconds, resident memory and open descriptors of all
workers). Database-wide figures (queue depth, lock waits, deadlocks) come from the scraped worker.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psutil
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, create_engine, event, text

from platform_api.db import Database, pool_figures

logger = logging.getLogger("platform_api.telemetry")

LATENCY_BUCKETS_S = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 30.0,
)  # fmt: skip
QUERY_BUCKETS_S = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
)  # fmt: skip
BUSY_WAIT_THRESHOLD_S = 0.001
SQLITE_WRITE_BEGIN = "BEGIN IMMEDIATE"
BUSY_WAITING = "platform_busy_waiting"
SAMPLE_INTERVAL_S = 1.0
KNOWN_CACHES = ("search",)
QUEUE_STATES = ("queued", "running")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass
class DatabaseSample:
    """The last figures read from the database; None until read (or on SQLite, for PostgreSQL's)."""

    queue: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUEUE_STATES, 0))
    lock_waits: int | None = None
    deadlocks: int | None = None


class Telemetry:
    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "platform_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.request_duration = Histogram(
            "platform_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.in_flight = Gauge(
            "platform_http_requests_in_flight",
            "HTTP requests being served",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.query_duration = Histogram(
            "platform_db_query_duration_seconds",
            "Database statement duration",
            ["operation"],
            buckets=QUERY_BUCKETS_S,
            registry=r,
        )
        self.pool_waiters = Gauge(
            "platform_db_pool_waiters",
            "Requests waiting for a database connection",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_wait = Histogram(
            "platform_db_pool_wait_seconds",
            "Time spent waiting for a database connection",
            buckets=QUERY_BUCKETS_S,
            registry=r,
        )
        self.busy_waits = Counter(
            "platform_db_busy_waits",
            f"SQLite write transactions whose BEGIN IMMEDIATE waited over "
            f"{BUSY_WAIT_THRESHOLD_S * 1000:g} ms for the lock",
            registry=r,
        )
        self.busy_waiting = Gauge(
            "platform_db_busy_waiting",
            "SQLite write transactions waiting now, in BEGIN IMMEDIATE, for the write lock",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cache_hits = Counter("platform_cache_hits", "Cache hits", ["cache"], registry=r)
        self.cache_misses = Counter("platform_cache_misses", "Cache misses", ["cache"], registry=r)
        for cache in KNOWN_CACHES:
            self.cache_hits.labels(cache)
            self.cache_misses.labels(cache)
        self.sample = DatabaseSample()
        self._sampler: _Sampler | None = None
        self._pool: Engine | None = None
        self._process_gauges: dict[str, Gauge] = {}
        sampled = _SampledCollector(self)
        r.register(sampled)
        if self.multiprocess_dir:
            self._process_gauges = _per_process_gauges(r)
            self._render_registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                self._render_registry, path=self.multiprocess_dir
            )
            self._render_registry.register(sampled)
        else:
            ProcessCollector(registry=r)
            r.register(_PoolCollector(self))
            self._render_registry = r

    def watch_engine(self, engine: Engine) -> None:
        """Time every statement, count SQLite lock waits, export the pool's gauges."""
        self._pool = engine
        histogram = self.query_duration
        busy_waits = self.busy_waits
        busy_waiting = self.busy_waiting

        def stop_waiting(conn: Any) -> None:
            if conn.info.pop(BUSY_WAITING, False):
                busy_waiting.dec()

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            conn.info.setdefault("platform_query_start", []).append(time.perf_counter())
            if statement == SQLITE_WRITE_BEGIN:
                conn.info[BUSY_WAITING] = True
                busy_waiting.inc()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            elapsed = time.perf_counter() - conn.info["platform_query_start"].pop()
            histogram.labels(_operation(statement)).observe(elapsed)
            # db.py opens SQLite write transactions with this statement; it returns at once
            # unless another connection holds the write lock, so its duration is the wait.
            if statement == SQLITE_WRITE_BEGIN:
                stop_waiting(conn)
                if elapsed > BUSY_WAIT_THRESHOLD_S:
                    busy_waits.inc()

        @event.listens_for(engine, "handle_error")
        def _failed(context: Any) -> None:
            # A BEGIN IMMEDIATE that timed out ("database is locked") waits no more.
            conn = context.connection
            if conn is not None:
                stop_waiting(conn)

    def start_sampling(self, database: Database) -> None:
        """Read the database's figures in the background (called by the app's lifespan)."""
        if self._sampler is None:
            self._sampler = _Sampler(self, database)
            self._sampler.start()

    def stop_sampling(self) -> None:
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        if self.multiprocess_dir:
            # This worker's live gauges must not be summed in once it has gone.
            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]

    def render(self) -> bytes:
        if self._sampler is not None:
            self._sampler.scraped.set()
        return generate_latest(self._render_registry)

    def pool_figures(self) -> dict[str, int]:
        if self._pool is None:
            return {"size": 0, "checked_out": 0, "overflow": 0}
        return pool_figures(self._pool)

    def refresh_process_gauges(self) -> None:
        """In multiprocess mode, publish this process's share of the summed gauges."""
        if not self._process_gauges:
            return
        for name, value in self.pool_figures().items():
            self._process_gauges[f"pool_{name}"].set(value)
        process = psutil.Process()
        with process.oneshot():
            times = process.cpu_times()
            self._process_gauges["cpu"].set(times.user + times.system)
            self._process_gauges["rss"].set(process.memory_info().rss)
            self._process_gauges["fds"].set(process.num_fds())


def _per_process_gauges(registry: CollectorRegistry) -> dict[str, Gauge]:
    def gauge(name: str, doc: str) -> Gauge:
        return Gauge(name, doc, registry=registry, multiprocess_mode="livesum")

    return {
        "pool_size": gauge("platform_db_pool_size", "Database pool size (all workers)"),
        "pool_checked_out": gauge(
            "platform_db_pool_checked_out", "Database connections in use (all workers)"
        ),
        "pool_overflow": gauge("platform_db_pool_overflow", "Pool overflow (all workers)"),
        "cpu": gauge("process_cpu_seconds_total", "CPU seconds of all worker processes"),
        "rss": gauge("process_resident_memory_bytes", "Resident memory of all worker processes"),
        "fds": gauge("process_open_fds", "Open file descriptors of all worker processes"),
    }


def _operation(statement: str) -> str:
    verb = statement.lstrip()[:6].lower()
    return verb if verb in ("select", "insert", "update", "delete") else "other"


class _PoolCollector(Collector):
    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry

    def collect(self) -> Iterable[Metric]:
        for name, value in self._telemetry.pool_figures().items():
            yield GaugeMetricFamily(f"platform_db_pool_{name}", f"Database pool {name}", value)

    def describe(self) -> Iterable[Metric]:
        return []


class _SampledCollector(Collector):
    """Exports the sampler's last figures; reading them costs no query."""

    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry

    def collect(self) -> Iterable[Metric]:
        sample = self._telemetry.sample
        depth = GaugeMetricFamily(
            "platform_execution_queue_depth", "Executions by state", labels=["status"]
        )
        for status in QUEUE_STATES:
            depth.add_metric([status], sample.queue.get(status, 0))
        yield depth
        yield GaugeMetricFamily(
            "platform_db_lock_waits",
            "PostgreSQL sessions waiting on a lock (0 on SQLite: see platform_db_busy_waits)",
            sample.lock_waits or 0,
        )
        yield CounterMetricFamily(
            "platform_db_deadlocks",
            "PostgreSQL deadlocks in this database since its statistics were reset",
            sample.deadlocks or 0,
        )

    def describe(self) -> Iterable[Metric]:
        return []


class _Sampler:
    """A daemon thread refreshing the database figures after each scrape, on its own connection."""

    def __init__(self, telemetry: Telemetry, database: Database) -> None:
        self.telemetry = telemetry
        self.scraped = threading.Event()
        self.scraped.set()  # a first sample at start, so the first scrapes are not empty
        self._stop = threading.Event()
        self._engine = _monitor_engine(database)
        self._thread = threading.Thread(target=self._loop, name="metrics-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._engine.dispose()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.telemetry.refresh_process_gauges()
                if self.scraped.is_set():
                    self.scraped.clear()
                    self.telemetry.sample = read_sample(self._engine)
            except Exception as exc:
                # Metrics must never take the server down; the next scrape tries again.
                logger.warning("metrics sampler: %s: %s", type(exc).__name__, exc)
            self._stop.wait(SAMPLE_INTERVAL_S)


def _monitor_engine(database: Database) -> Engine:
    url = database.engine.url
    if database.dialect == "sqlite":
        return create_engine(
            url,
            pool_size=1,
            max_overflow=0,
            connect_args={"timeout": 1, "check_same_thread": False},
        )
    return create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 2, "options": "-c statement_timeout=2000"},
    )


def read_sample(engine: Engine) -> DatabaseSample:
    """One short read: queue depth, and on PostgreSQL lock waits and deadlocks."""
    sample = DatabaseSample()
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT status, count(*) FROM executions"
                " WHERE status IN ('queued', 'running') GROUP BY status"
            )
        )
        sample.queue.update({str(status): int(count) for status, count in rows})
        if engine.dialect.name == "postgresql":
            sample.lock_waits = int(
                connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")) or 0
            )
            sample.deadlocks = int(
                connection.scalar(
                    text(
                        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
                    )
                )
                or 0
            )
    return sample
