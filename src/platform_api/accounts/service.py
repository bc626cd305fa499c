"""Accounts and their API keys. A key is shown once, at creation; only its hash is stored."""

from __future__ import annotations

import secrets
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from platform_api import audit
from platform_api.context import RequestContext
from platform_api.db import Database
from platform_api.deps import hash_api_key
from platform_api.errors import Conflict
from platform_api.models import User

ADMIN_EMAIL = "admin@platform.local"


def new_api_key() -> str:
    return "plk_" + secrets.token_urlsafe(32)


def create_user(
    session: Session, ctx: RequestContext, *, email: str, name: str, role: str = "member"
) -> tuple[User, str]:
    email = email.lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"An account with the email {email} exists already")
    api_key = new_api_key()
    user = User(
        email=email,
        name=name,
        role=role,
        api_key_hash=hash_api_key(api_key),
        test_run_id=ctx.test_run_id,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise Conflict(f"An account with the email {email} exists already") from exc
    # A sign-up has no caller yet: the new account is its own actor.
    actor = ctx if ctx.user_id else replace(ctx, user_id=user.id)
    audit.record(session, actor, "user.create", "user", user.id)
    return user, api_key


def ensure_admin(database: Database, api_key: str | None) -> None:
    """Create or update the admin account whose key is PLATFORM_ADMIN_API_KEY (dev and CI)."""
    if not api_key:
        return
    try:
        _ensure_admin(database, api_key)
    except IntegrityError:
        # Workers started together (`--workers N`) each make the admin: the one that lost the race
        # between its read and its insert updates the row the winner made instead of failing.
        _ensure_admin(database, api_key)


def _ensure_admin(database: Database, api_key: str) -> None:
    with database.transaction() as session:
        admin = session.scalar(select(User).where(User.email == ADMIN_EMAIL))
        if admin is None:
            admin = User(email=ADMIN_EMAIL, name="Administrator", role="admin", api_key_hash="")
            session.add(admin)
        admin.api_key_hash = hash_api_key(api_key)
        admin.role = "admin"
        admin.disabled = False
