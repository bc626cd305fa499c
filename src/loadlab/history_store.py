"""The history of runs in a real database: SQLite under the results folder by default, or the
PostgreSQL given by `[history] url` / `--history-url`, so CI runners can share one history.

It keeps what a later comparison recomputes from (docs/baselines.md): the plan, target, labels,
totals, endpoints, the per-second timeline and every endpoint's encoded HdrHistogram. Writers
are safe together: SQLite in WAL mode takes its write lock at BEGIN (BEGIN IMMEDIATE, waiting up
to 60 s), PostgreSQL serialises schema creation and the one-time import with an advisory lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from loadlab.comparison import RunData
from loadlab.errors import UsageError
from loadlab.results import RunSummary

STORE_FILE = "history.sqlite"
JSONL_FILE = "history.jsonl"
BUSY_TIMEOUT_S = 60
_LOCK_KEY = 0x10AD1AB  # PostgreSQL advisory lock of loadlab's history

metadata = MetaData()
runs = Table(
    "loadlab_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(200), nullable=False, unique=True),
    Column("scenario", String(200), nullable=False),
    Column("engine", String(40), nullable=False),
    Column("plan_key", String(1000), nullable=False),
    Column("target", String(1000), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("run_dir", Text, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("rps", Float, nullable=False),
    Column("p95_ms", Float),
    Column("error_rate_percent", Float, nullable=False),
    Column("memory_growth_bytes_per_10m", Float),
    Column("steady_from_s", Float),
    Column("steady_to_s", Float),
    Column("labels", Text, nullable=False),  # JSON objects from here on
    Column("plan", Text, nullable=False),
    Column("totals", Text, nullable=False),
    Column("endpoints", Text, nullable=False),
    Column("timeline", Text, nullable=False),
    Column("imported_line", Text),  # a history.jsonl line exactly as it was, when imported
)
Index("loadlab_runs_alike", runs.c.scenario, runs.c.engine, runs.c.plan_key, runs.c.target)
histograms = Table(
    "loadlab_histograms",
    metadata,
    Column("run", Integer, ForeignKey("loadlab_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("endpoint", String(1000), primary_key=True),
    Column("encoded", Text, nullable=False),
)
baselines = Table(
    "loadlab_baselines",
    metadata,
    Column("scenario", String(200), primary_key=True),
    Column("engine", String(40), primary_key=True),
    Column("run_ids", Text, nullable=False),
)
meta = Table(
    "loadlab_meta",
    metadata,
    Column("key", String(1000), primary_key=True),
    Column("value", Text, nullable=False),
)


def default_url(results_dir: Path) -> str:
    return f"sqlite:///{(results_dir / STORE_FILE).resolve()}"


def describe(url: str) -> str:
    """The URL without a password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, userinfo = head.partition("://")
    return f"{scheme}://{userinfo.split(':', 1)[0]}@{tail}"


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")):
        raise UsageError(
            f"history URL {describe(url)!r} is neither sqlite:///PATH nor postgresql://...",
            hint="set [history] url or --history-url",
        )
    try:
        if url.startswith("sqlite"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_S}
            )
            _sqlite_locking(engine)
            return engine
        return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    except (ArgumentError, OSError) as error:
        raise UsageError(f"history URL {describe(url)!r}: {error}") from None


def _sqlite_locking(engine: Engine) -> None:
    """WAL (readers never wait for a writer), and the write lock taken at BEGIN, so two writers
    queue instead of one failing when it upgrades a read lock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _unreachable(url: str, error: SQLAlchemyError) -> UsageError:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    return UsageError(
        f"history {describe(url)}: {reason[0] if reason else type(error).__name__}",
        hint="check the history database ([history] url or --history-url)",
    )


class HistoryStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = _engine(url)

    def close(self) -> None:
        self._engine.dispose()

    def check(self) -> None:
        """Connect and create the tables now, so an unreachable history is found before a run."""
        with self._write():
            pass

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
                metadata.create_all(connection, checkfirst=True)
                yield connection
        except (OperationalError, IntegrityError) as error:
            raise _unreachable(self.url, error) from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection:
                yield connection
        except OperationalError as error:
            raise _unreachable(self.url, error) from None

    def _has_tables(self, connection: Connection) -> bool:
        return bool(connection.dialect.has_table(connection, runs.name))

    def record(self, summary: RunSummary, run_dir: str) -> str:
        """Store the run; returns its id in the history (the folder's, made unique if two runners
        sharing one database chose the same)."""
        data = RunData.from_summary(summary)
        with self._write() as connection:
            run_id = summary.run_id
            taken = {
                r
                for (r,) in connection.execute(
                    select(runs.c.run_id).where(runs.c.run_id.like(f"{run_id}%"))
                )
            }
            suffix = 2
            while run_id in taken:
                run_id, suffix = f"{summary.run_id}-{suffix}", suffix + 1
            row = _row(data, summary, run_dir, run_id)
            inserted = connection.execute(insert(runs).values(**row)).inserted_primary_key
            assert inserted is not None
            pk = inserted[0]
            if summary.histograms:
                connection.execute(
                    insert(histograms),
                    [
                        {"run": pk, "endpoint": k, "encoded": v}
                        for k, v in summary.histograms.items()
                    ],
                )
        return run_id

    def import_jsonl(self, path: Path, entries: Sequence[tuple[Mapping[str, Any], str]]) -> int:
        """Import a history.jsonl once (its lines kept exactly); returns how many were added."""
        key = f"imported:{path.resolve()}"
        with self._write() as connection:
            if connection.execute(select(meta.c.key).where(meta.c.key == key)).first():
                return 0
            known = set(connection.execute(select(runs.c.run_id)).scalars())
            rows = [_imported_row(e, line) for e, line in entries if e["run_id"] not in known]
            if rows:
                connection.execute(insert(runs), rows)
            connection.execute(insert(meta).values(key=key, value=str(len(rows))))
        return len(rows)

    def imported(self, path: Path) -> bool:
        with self._read() as connection:
            if not self._has_tables(connection):
                return False
            key = f"imported:{path.resolve()}"
            return (
                connection.execute(select(meta.c.key).where(meta.c.key == key)).first() is not None
            )

    def rows(
        self, *, scenario: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Headline columns of the newest runs (oldest first)."""
        with self._read() as connection:
            if not self._has_tables(connection):
                return []
            query = select(*[c for c in runs.c if c.name not in ("timeline", "endpoints")])
            if scenario is not None:
                query = query.where(runs.c.scenario == scenario)
            query = query.order_by(runs.c.id.desc())
            if limit is not None:
                query = query.limit(limit)
            found = [dict(r._mapping) for r in connection.execute(query)]
        return found[::-1]

    def scenarios(self) -> list[str]:
        with self._read() as connection:
            if not self._has_tables(connection):
                return []
            query = select(runs.c.scenario).distinct().order_by(runs.c.scenario)
            return list(connection.execute(query).scalars())

    def load(self, run_ids: Sequence[str]) -> list[RunData]:
        """The runs named, in that order; an unknown id is a usage error naming it."""
        with self._read() as connection:
            found = {}
            if self._has_tables(connection):
                rows = connection.execute(select(runs).where(runs.c.run_id.in_(list(run_ids))))
                found = {r.run_id: r for r in rows}
            missing = [r for r in run_ids if r not in found]
            if missing:
                raise UsageError(
                    f"no run {', '.join(missing)} in the history {describe(self.url)}",
                    hint="`loadlab history` lists the runs",
                )
            pks = [found[r].id for r in run_ids]
            encoded: dict[int, dict[str, str]] = {pk: {} for pk in pks}
            for pk, endpoint, value in connection.execute(
                select(histograms.c.run, histograms.c.endpoint, histograms.c.encoded).where(
                    histograms.c.run.in_(pks)
                )
            ):
                encoded[pk][endpoint] = value
        return [_run_data(dict(found[r]._mapping), encoded[found[r].id]) for r in run_ids]

    def last_passing(self, like: RunData, count: int) -> list[str]:
        """The newest `count` passing runs of the same scenario, engine, plan and target."""
        with self._read() as connection:
            if not self._has_tables(connection):
                return []
            query = (
                select(runs.c.run_id)
                .where(
                    runs.c.scenario == like.scenario,
                    runs.c.engine == like.engine,
                    runs.c.plan_key == like.plan_key(),
                    runs.c.target == like.target,
                    runs.c.passed.is_(True),
                    runs.c.run_id != like.run_id,
                )
                .order_by(runs.c.id.desc())
                .limit(count)
            )
            return list(connection.execute(query).scalars())[::-1]

    def pinned(self, scenario: str, engine: str) -> list[str] | None:
        with self._read() as connection:
            if not self._has_tables(connection):
                return None
            value = connection.execute(
                select(baselines.c.run_ids).where(
                    baselines.c.scenario == scenario, baselines.c.engine == engine
                )
            ).scalar()
        return None if value is None else list(json.loads(value))

    def all_pinned(self) -> list[tuple[str, str, list[str]]]:
        with self._read() as connection:
            if not self._has_tables(connection):
                return []
            rows = connection.execute(select(baselines).order_by(baselines.c.scenario))
            return [(r.scenario, r.engine, list(json.loads(r.run_ids))) for r in rows]

    def pin(self, scenario: str, engine: str, run_ids: Sequence[str]) -> None:
        with self._write() as connection:
            connection.execute(
                baselines.delete().where(
                    baselines.c.scenario == scenario, baselines.c.engine == engine
                )
            )
            connection.execute(
                insert(baselines).values(
                    scenario=scenario, engine=engine, run_ids=json.dumps(list(run_ids))
                )
            )

    def unpin(self, scenario: str | None = None, engine: str | None = None) -> int:
        with self._write() as connection:
            query = baselines.delete()
            if scenario is not None:
                query = query.where(baselines.c.scenario == scenario)
            if engine is not None:
                query = query.where(baselines.c.engine == engine)
            return int(connection.execute(query).rowcount or 0)


def _row(data: RunData, summary: RunSummary, run_dir: str, run_id: str) -> dict[str, Any]:
    totals = summary.totals
    return {
        "run_id": run_id,
        "scenario": data.scenario,
        "engine": data.engine,
        "plan_key": data.plan_key(),
        "target": data.target,
        "started_at": summary.started_at,
        "exit_code": summary.verdict.exit_code,
        "passed": summary.verdict.passed,
        "reason": summary.verdict.reason,
        "run_dir": run_dir,
        "requests": totals.requests,
        "rps": round(totals.rps, 3),
        "p95_ms": totals.p95_ms,
        "error_rate_percent": totals.error_rate,
        "memory_growth_bytes_per_10m": data.memory_growth_bytes_per_10m,
        "steady_from_s": None if data.steady_s is None else data.steady_s[0],
        "steady_to_s": None if data.steady_s is None else data.steady_s[1],
        "labels": json.dumps(dict(data.labels)),
        "plan": json.dumps(dict(data.plan)),
        "totals": json.dumps(asdict(totals)),
        "endpoints": json.dumps(dict(data.endpoints)),
        "timeline": json.dumps(list(data.timeline)),
        "imported_line": None,
    }


def _imported_row(entry: Mapping[str, Any], line: str) -> dict[str, Any]:
    """A history.jsonl line has headline numbers only: no plan, so never a default baseline."""
    totals = {
        "requests": entry["requests"],
        "rps": entry["rps"],
        "p95_ms": entry["p95_ms"],
        "error_rate": entry["error_rate_percent"],
    }
    return {
        "run_id": entry["run_id"],
        "scenario": entry["scenario"],
        "engine": entry["engine"],
        "plan_key": "",
        "target": "",
        "started_at": entry["started_at"],
        "exit_code": entry["exit_code"],
        "passed": entry["exit_code"] == 0,
        "reason": entry["reason"],
        "run_dir": entry["run_dir"],
        "requests": entry["requests"],
        "rps": entry["rps"],
        "p95_ms": entry["p95_ms"],
        "error_rate_percent": entry["error_rate_percent"],
        "memory_growth_bytes_per_10m": None,
        "steady_from_s": None,
        "steady_to_s": None,
        "labels": "{}",
        "plan": "{}",
        "totals": json.dumps(totals),
        "endpoints": "{}",
        "timeline": "[]",
        "imported_line": line,
    }


def _run_data(row: Mapping[str, Any], encoded: Mapping[str, str]) -> RunData:
    start, end = row["steady_from_s"], row["steady_to_s"]
    return RunData(
        run_id=row["run_id"],
        scenario=row["scenario"],
        engine=row["engine"],
        target=row["target"],
        plan=json.loads(row["plan"]),
        passed=bool(row["passed"]),
        totals=json.loads(row["totals"]),
        endpoints=json.loads(row["endpoints"]),
        timeline=json.loads(row["timeline"]),
        steady_s=None if start is None or end is None else (start, end),
        histograms=dict(encoded),
        memory_growth_bytes_per_10m=row["memory_growth_bytes_per_10m"],
        started_at=row["started_at"],
        labels=json.loads(row["labels"]),
    )


__all__ = ["HistoryStore", "SQLAlchemyError", "default_url", "describe"]
