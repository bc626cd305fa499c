"""SQLite's write lock held from another connection, as a busy second process would hold it (a
plain module shared by the platform tests that need a busy database)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sqlite_write_lock(database_url: str) -> Iterator[None]:
    """SQLite's write lock, held from another connection until the block ends."""
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
    finally:
        connection.close()
