"""Prometheus metrics of one app instance, served at `/metrics`.

Each app owns its registry, so two apps in one process (tests) never share counters. Routes are
labelled by their template, never by the raw path, so the number of series stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

LATENCY_BUCKETS_S = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 30.0,
)  # fmt: skip
QUERY_BUCKETS_S = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
)  # fmt: skip


class Telemetry:
    def __init__(self) -> None:
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
            "platform_http_requests_in_flight", "HTTP requests being served", registry=r
        )
        self.query_duration = Histogram(
            "platform_db_query_duration_seconds",
            "Database statement duration",
            ["operation"],
            buckets=QUERY_BUCKETS_S,
            registry=r,
        )
        self.pool_waiters = Gauge(
            "platform_db_pool_waiters", "Requests waiting for a database connection", registry=r
        )
        self.pool_wait = Histogram(
            "platform_db_pool_wait_seconds",
            "Time spent waiting for a database connection",
            buckets=QUERY_BUCKETS_S,
            registry=r,
        )
        self.busy_waits = Counter(
            "platform_db_busy_waits",
            "SQLite write transactions that had to wait for the lock",
            registry=r,
        )
        self.lock_waits = Gauge(
            "platform_db_lock_waits", "PostgreSQL sessions waiting on a lock", registry=r
        )
        self.deadlocks = Gauge(
            "platform_db_deadlocks_total",
            "PostgreSQL deadlocks in this database since its statistics were reset",
            registry=r,
        )
        self.cache_hits = Counter("platform_cache_hits", "Cache hits", ["cache"], registry=r)
        self.cache_misses = Counter("platform_cache_misses", "Cache misses", ["cache"], registry=r)
        self.queue_depth = Gauge(
            "platform_execution_queue_depth", "Executions by state", ["status"], registry=r
        )
        ProcessCollector(registry=r)

    def watch_engine(self, engine: Engine) -> None:
        """Time every statement and export the pool's gauges."""
        self.registry.register(_PoolCollector(engine))
        histogram = self.query_duration

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            conn.info.setdefault("platform_query_start", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            started = conn.info["platform_query_start"].pop()
            histogram.labels(_operation(statement)).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _operation(statement: str) -> str:
    verb = statement.lstrip()[:6].lower()
    return verb if verb in ("select", "insert", "update", "delete") else "other"


class _PoolCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterable[GaugeMetricFamily]:
        pool: Any = self._engine.pool
        figures = {
            "size": _call(pool, "size"),
            "checked_out": _call(pool, "checkedout"),
            "overflow": max(_call(pool, "overflow"), 0),
        }
        for name, value in figures.items():
            yield GaugeMetricFamily(f"platform_db_pool_{name}", f"Database pool {name}", value)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []


def _call(pool: Any, name: str) -> float:
    method = getattr(pool, name, None)
    return float(method()) if callable(method) else 0.0
