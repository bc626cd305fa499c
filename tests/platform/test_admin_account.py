"""PLATFORM_ADMIN_API_KEY's admin account, made at start-up, even by workers starting together."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection

from platform_api.accounts.service import ADMIN_EMAIL, ensure_admin
from platform_api.db import Database, create_database, migrate
from platform_api.deps import hash_api_key
from platform_api.models import User
from platform_api.settings import Settings
from platform_server import postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def database() -> Iterator[Database]:
    with postgres_database() as url:
        settings = Settings(database_url=url, admin_api_key=None)
        migrate(settings)
        made = create_database(settings)
        try:
            yield made
        finally:
            made.dispose()


def test_a_worker_that_loses_the_race_to_make_the_admin_still_starts(database: Database) -> None:
    """Another worker inserts the admin between this one's read and its insert (as two workers of
    `platform-api serve --workers 2` on PostgreSQL did): the loser updates that row instead."""
    rival_key_hash = hash_api_key("rival-key")
    raced: list[str] = []

    def rival_first(connection: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO users") and not raced:
            raced.append(statement)
            with database.engine.connect() as rival:
                rival.execute(
                    text(
                        "INSERT INTO users (id, email, name, role, api_key_hash, disabled,"
                        " created_at) VALUES ('rival', :email, 'Administrator', 'admin', :hash,"
                        " false, now())"
                    ),
                    {"email": ADMIN_EMAIL, "hash": rival_key_hash},
                )
                rival.commit()

    event.listen(database.engine, "before_cursor_execute", rival_first)
    ensure_admin(database, "our-key")
    assert raced  # the rival's insert came first
    with database.transaction(write=False) as session:
        admins = session.scalars(select(User).where(User.email == ADMIN_EMAIL)).all()
    assert [(a.id, a.api_key_hash, a.role) for a in admins] == [
        ("rival", hash_api_key("our-key"), "admin")
    ]
