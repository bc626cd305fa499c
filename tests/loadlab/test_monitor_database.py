"""PostgreSQL's statistics views, read straight from the server, or not reachable at all."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psycopg
import pytest

from loadlab.monitor import Monitor, MonitorConfig, MonitorResult
from loadlab.monitor.database import PostgresSampler
from platform_server import free_port, require_postgres
from waiting import wait_for


def run_monitor(config: MonitorConfig, seconds: float, warnings: list[str]) -> MonitorResult:
    clock_start = time.monotonic()
    monitor = Monitor(config, clock_start=clock_start, warn=warnings.append)
    monitor.start()
    try:
        wait_for(lambda: monitor.covered_s >= seconds, seconds + 60, f"{seconds} s of samples")
    finally:
        result = monitor.stop()
    return result


def test_unreachable_postgresql_warns_once_and_gives_no_data(tmp_path: Path) -> None:
    db_url = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/test"
    warnings: list[str] = []
    config = MonitorConfig(
        f"http://127.0.0.1:{free_port()}", os.getpid(), db_url=db_url, interval_s=0.5
    )
    result = run_monitor(config, 1.2, warnings)
    postgres = [w for w in warnings if w.startswith("monitor (postgres)")]
    assert len(postgres) == 1
    assert "PostgreSQL unreachable at postgresql://postgres:***@127.0.0.1" in postgres[0]
    assert "secret" not in " ".join(warnings)
    assert result.sources["postgres"].startswith("PostgreSQL unreachable")
    found = result.aggregates(0.0, 2.0)
    assert found["pg_cache_hit_rate"].value is None
    assert found["pg_cache_hit_rate"].detail == f"no data: {result.sources['postgres']}"
    assert found["cpu"].value is not None  # the other sources go on


def test_a_sqlite_url_is_refused_as_loadlab_run_refuses_it(tmp_path: Path) -> None:
    """One rule for --db-url: SQLite has no statistics views to read."""
    config = MonitorConfig(
        f"http://127.0.0.1:{free_port()}", None, db_url=f"sqlite:///{tmp_path}/x.db", interval_s=0.5
    )
    assert ["postgresql://" in problem for problem in config.problems()] == [True]


@pytest.mark.postgres
def test_statistics_views_measure_cache_hits_locks_and_activity() -> None:
    base = require_postgres()
    sampler = PostgresSampler(base, timeout_s=2)
    holder = psycopg.connect(base)
    waiter = psycopg.connect(base, autocommit=True)
    table = f"monitor_lock_{os.getpid()}"
    try:
        holder.execute(f"CREATE TABLE {table} (id int)")
        holder.commit()
        sampler.sample(time.monotonic())  # the baseline
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        # A second session blocks on the lock until the holder rolls back.
        blocked = threading.Thread(
            target=lambda: waiter.execute(f"SELECT count(*) FROM {table}"), daemon=True
        )
        blocked.start()

        def waiting_row() -> dict[str, float | None] | None:
            row = sampler.sample(time.monotonic())
            return row if (row["pg_waiting_locks"] or 0) >= 1 else None

        row = wait_for(waiting_row, 10, "a session waiting on the lock")
        holder.rollback()
        blocked.join(timeout=10)
    finally:
        holder.close()
        waiter.close()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        sampler.close()
    assert sampler.health.summary() == "ok"
    assert (row["pg_waiting_locks"] or 0) >= 1
    assert (row["pg_active_connections"] or 0) >= 1  # the blocked session is active
    assert row["pg_deadlocks"] == 0
