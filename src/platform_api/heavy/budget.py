"""The time budget of a heavy request (`PLATFORM_HEAVY_TIMEOUT_S`): past it, 504.

CPU work checks the budget between units of work (a file generated, a file analysed), so an
expired request stops working instead of leaving a thread busy after its client has gone. Database
work gets the remainder as a statement timeout (PostgreSQL) or a progress handler (SQLite).

The deadline is a `time.monotonic()` instant, one clock for every process of the machine, so a
Budget sent to a heavy worker process (platform_api.heavy.pool) keeps the request's deadline.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from platform_api.errors import GatewayTimeout

SQLITE_CHECK_EVERY_OPS = 10_000


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def check(self) -> None:
        if self.expired():
            raise self.timeout()

    def timeout(self) -> GatewayTimeout:
        return GatewayTimeout(
            f"The request took longer than its budget of {self.seconds:g} s "
            "(PLATFORM_HEAVY_TIMEOUT_S); ask for less work"
        )


@contextmanager
def database_budget(session: Session, budget: Budget) -> Iterator[None]:
    """Cancel the statements run inside when the budget runs out."""
    budget.check()
    if session.get_bind().dialect.name == "postgresql":
        timeout_ms = max(1, int(budget.remaining_s() * 1000))
        session.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        try:
            yield
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
                raise budget.timeout() from exc
            raise
        return
    driver: Any = session.connection().connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    driver.set_progress_handler(lambda: 1 if budget.expired() else 0, SQLITE_CHECK_EVERY_OPS)
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc.orig):
            raise budget.timeout() from exc
        raise
    finally:
        driver.set_progress_handler(None, 0)
