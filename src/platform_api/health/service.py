"""Readiness: one round trip to the database."""

from __future__ import annotations

from platform_api.db import Database, ping
from platform_api.errors import Unavailable


def check_database(database: Database) -> None:
    try:
        ping(database)
    except Exception as exc:
        raise Unavailable(
            f"The database is unreachable: {type(exc).__name__}", headers={"Retry-After": "5"}
        ) from exc
