"""FastAPI dependencies: the request's database session, the caller, and the request context.

The session is committed when the route returns and before the response is sent
(`scope="function"`), so a 2xx answer always means the write is durable.

Dependencies that do no I/O are `async def`: FastAPI runs every plain `def` dependency in the
thread pool, and each such hop costs more than the work itself (see docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, ParamSpec, TypeVar

import anyio
from fastapi import Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from platform_api.context import RequestContext
from platform_api.db import Database
from platform_api.errors import Forbidden, RateLimited, Unauthorized
from platform_api.models import User
from platform_api.ratelimit import RateLimiter
from platform_api.settings import Settings
from platform_api.telemetry import Telemetry

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXIT_THREADS = 20
P = ParamSpec("P")
T = TypeVar("T")


def hash_api_key(api_key: str) -> str:
    # API keys are long random tokens, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(api_key.encode()).hexdigest()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, made on the event loop: a session does no I/O until its first
    query, which runs in a worker thread (`current_user`'s for reads, the route's for writes).
    Ended in one thread-pool hop, or in none when the route ended it with `run_in_session`."""
    database = get_database(request)
    factory = database.write_sessions if request.method in WRITE_METHODS else database.read_sessions
    session = factory()
    try:
        yield session
    except BaseException:
        await _finish(request, session, commit=False)
        raise
    await _finish(request, session, commit=True)


async def _finish(request: Request, session: Session, *, commit: bool) -> None:
    if not session.in_transaction():
        session.close()  # no connection held, so no I/O
        return
    # Its own threads: a transaction that holds SQLite's write lock must be able to commit while
    # other requests occupy the shared pool waiting for that lock. Shielded: a client that goes
    # away must not leave the connection checked out.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(
            _end_transaction, session, commit, limiter=_exit_limiter(request)
        )


def _exit_limiter(request: Request) -> anyio.CapacityLimiter:
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "session_exit_limiter", None)
    if limiter is None:  # made on first use, on the event loop, so no race
        limiter = anyio.CapacityLimiter(EXIT_THREADS)
        request.app.state.session_exit_limiter = limiter
    return limiter


def _end_transaction(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
    finally:
        session.close()  # rolls back whatever was not committed


async def run_in_session(
    session: Session, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a service call from an `async def` route in one thread-pool hop, and end the request's
    transaction in that same hop (commit on success, roll back on error), so that the session's
    own exit has nothing left to do. Returned ORM objects stay loaded (`expire_on_commit=False`)."""

    def call_and_end() -> T:
        try:
            result = func(*args, **kwargs)
            session.commit()
            return result
        finally:
            session.close()

    # Once started, the thread runs to its end even if the client goes away: the transaction is
    # always ended, and the session's exit closes whatever a cancelled request left open.
    return await anyio.to_thread.run_sync(call_and_end)


def _connect(request: Request, session: Session) -> None:
    """Take the connection first, so that pool waits are measured and fail fast (503)."""
    telemetry: Telemetry = request.app.state.telemetry
    telemetry.pool_waiters.inc()
    try:
        with telemetry.pool_wait.time():
            session.connection()
    finally:
        telemetry.pool_waiters.dec()


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def current_user(request: Request, response: Response, session: DbSession) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized()
    if request.method in WRITE_METHODS:
        # A write session takes SQLite's write lock with its first statement. Looking the caller
        # up in a short read session keeps that lock out of this hop: only the hop that writes
        # holds it, so writers waiting for it can never starve its holder of a thread.
        with get_database(request).read_sessions() as auth_session:
            user = _authenticate(request, auth_session, key.strip())
            auth_session.commit()
    else:
        user = _authenticate(request, session, key.strip())
    settings = get_settings(request)
    limiter: RateLimiter = request.app.state.limiter
    decision = limiter.hit(
        f"key:{user.id}", rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst
    )
    if not decision.allowed:
        raise RateLimited(
            "Too many requests; retry after the delay given", headers=decision.headers()
        )
    response.headers.update(decision.headers())
    request.state.user_id = user.id
    return user


def _authenticate(request: Request, session: Session, key: str) -> User:
    _connect(request, session)
    user = session.scalar(select(User).where(User.api_key_hash == hash_api_key(key)))
    if user is None or user.disabled:
        raise Unauthorized("The API key is not valid or its account is disabled")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("This endpoint needs the admin role")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


async def request_context(request: Request, user: CurrentUser) -> RequestContext:
    return RequestContext(
        user_id=user.id,
        role=user.role,
        request_id=getattr(request.state, "request_id", None),
        test_run_id=getattr(request.state, "test_run_id", None),
    )


Context = Annotated[RequestContext, Depends(request_context)]


async def anonymous_context(request: Request) -> RequestContext:
    return RequestContext(
        user_id=None,
        role=None,
        request_id=getattr(request.state, "request_id", None),
        test_run_id=getattr(request.state, "test_run_id", None),
    )


AnonymousContext = Annotated[RequestContext, Depends(anonymous_context)]
