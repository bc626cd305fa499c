"""The database: engine, sessions and migrations for SQLite and PostgreSQL.

SQLite runs in WAL mode so readers never wait for the writer, and refuses text holding NUL as
PostgreSQL does; write transactions start with
`BEGIN IMMEDIATE` and a busy timeout, so concurrent writers queue instead of failing with
"database is locked" (a deferred transaction that upgrades to a write lock cannot wait).
PostgreSQL uses psycopg 3 with a bounded pool; an exhausted pool fails fast (`pool_timeout`) and the
request gets 503 with Retry-After instead of a long stall.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from platform_api.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
IMMEDIATE = "platform_sqlite_immediate"
HOLDS_WRITE_LOCK = "platform_holds_write_lock"


@dataclass
class Database:
    engine: Engine
    read_sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    # SQLite only: read sessions on one connection of their own, used by the event loop's thread
    # alone (one request at a time, never across an await), so they never wait for the pool.
    loop_sessions: sessionmaker[Session] | None = None
    loop_engine: Engine | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session committed on success and rolled back on error (for the worker and CLI)."""
        factory = self.write_sessions if write else self.read_sessions
        with factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
        if self.loop_engine is not None:
            self.loop_engine.dispose()


def create_database(settings: Settings) -> Database:
    url = settings.resolved_database_url
    if settings.is_sqlite:
        engine = _sqlite_engine(url, settings)
    else:
        engine = create_engine(url, pool_pre_ping=True, **_pool_args(settings))
    write_engine = engine.execution_options(**{IMMEDIATE: True})
    # An in-memory database is one per engine: no second engine can share it.
    on_disk = settings.is_sqlite and _sqlite_file(url) is not None
    loop_engine = _sqlite_engine(url, settings, loop=True) if on_disk else None
    return Database(
        engine=engine,
        read_sessions=sessionmaker(bind=engine, expire_on_commit=False),
        write_sessions=sessionmaker(bind=write_engine, expire_on_commit=False),
        loop_sessions=(
            None if loop_engine is None else sessionmaker(bind=loop_engine, expire_on_commit=False)
        ),
        loop_engine=loop_engine,
    )


def _pool_args(settings: Settings) -> dict[str, Any]:
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
    }


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    path = url.removeprefix("sqlite:///")
    return path if path and path != ":memory:" else None


def _sqlite_engine(url: str, settings: Settings, *, loop: bool = False) -> Engine:
    path = _sqlite_file(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    pool = {"poolclass": StaticPool} if loop else _pool_args(settings)
    engine = create_engine(
        url,
        connect_args={"timeout": settings.sqlite_busy_timeout_s, "check_same_thread": False},
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN is ours to choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_s * 1000)}")
        cursor.close()

    _serialize_writers(engine, settings.write_wait_s)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def _refuse_nul(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool
) -> None:
    """Refuse text holding NUL, as PostgreSQL does, so both databases give the client one answer
    (422, through the DataError handler) instead of SQLite storing or matching it."""
    rows = parameters if executemany else [parameters]
    for row in rows:
        values = row.values() if isinstance(row, dict) else row
        if any(isinstance(value, str) and "\x00" in value for value in values or ()):
            raise sqlite3.DataError("text values cannot contain NUL (0x00) characters")


def _serialize_writers(engine: Engine, timeout_s: float) -> None:
    """Queue this process's writers on a Python lock before `BEGIN IMMEDIATE`.

    A waiting writer then wakes the moment the lock is released, where SQLite's busy handler
    polls with sleeps of up to 100 ms. Requests meet one another earlier, in the write queue
    (platform_api.write_queue), so what waits here is at most one request and the execution
    worker's threads; a writer that waits past `timeout_s` fails with "database is
    locked", which the app answers 503 with Retry-After. A connection keeps the lock until it
    goes back to the pool, so a session that commits and writes again does not queue behind
    itself; a failed or invalidated connection gives it back too. Other processes
    (`--workers N`) still meet SQLite's busy timeout.
    """
    write_lock = threading.Lock()

    def release(info: dict[Any, Any]) -> None:
        if info.pop(HOLDS_WRITE_LOCK, False):
            write_lock.release()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get(IMMEDIATE, False):
            conn.exec_driver_sql("BEGIN")
            return
        if not conn.info.get(HOLDS_WRITE_LOCK):
            if not write_lock.acquire(timeout=timeout_s):
                raise sqlite3.OperationalError("database is locked (this process's writers)")
            conn.info[HOLDS_WRITE_LOCK] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(conn.info)
            raise

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        release(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        release(record.info)


def migrate(settings: Settings) -> None:
    """Apply every Alembic migration (idempotent)."""
    # Alembic takes a tenth of a second to import: only the processes that migrate pay it.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", settings.resolved_database_url)
    config.attributes["configure_logger"] = False
    database = create_database(settings)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        database.dispose()


def pool_figures(engine: Engine) -> dict[str, int]:
    """The pool's size, connections checked out and overflow (0 where a pool has no such figure)."""
    pool: Any = engine.pool

    def figure(name: str) -> int:
        method = getattr(pool, name, None)
        return int(method()) if callable(method) else 0

    return {
        "size": figure("size"),
        "checked_out": figure("checkedout"),
        "overflow": max(figure("overflow"), 0),
    }
