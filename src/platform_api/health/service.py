"""Readiness: one round trip to the database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from platform_api.errors import Unavailable


def check_database(session: Session) -> None:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        # Whatever stopped the round trip (refused, unknown database, pool exhausted), the
        # answer is the same: not ready, with the usual error body.
        raise Unavailable(
            f"The database is unreachable: {type(exc).__name__}", headers={"Retry-After": "5"}
        ) from exc
