"""FastAPI dependencies: the request's database session, the caller, and the request context.

The session is committed when the route returns and before the response is sent
(`scope="function"`), so a 2xx answer always means the write is durable.

Dependencies that do no I/O are `async def`: FastAPI runs every plain `def` dependency in the
thread pool, and each such hop costs more than the work itself (see docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

import anyio
from fastapi import Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from platform_api.context import RequestContext
from platform_api.db import Database
from platform_api.errors import Forbidden, RateLimited, Unauthorized
from platform_api.models import User
from platform_api.ratelimit import Decision, RateLimiter
from platform_api.settings import Settings
from platform_api.telemetry import Telemetry

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Few threads for the short database hops: with the GIL, more runnable threads only add hand-offs
# (on the shared 2 cores, reads fell from ~810 req/s with 1 client to ~460 with 32 clients on the
# default 40 threads; ~640 on these 8).
DB_THREADS = 8
# The session's final commit has threads of its own, so it can never wait behind the requests
# that wait for the connection or the SQLite write lock that it holds.
EXIT_THREADS = 20
SESSION_LIMITER = "platform_thread_limiter"
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
    """The request's session, made on the event loop: a session does no I/O until the route's
    first query, in a worker thread. Ended in one thread-pool hop of its own, or in none when the
    route ended it with `run_in_session`."""
    database = get_database(request)
    factory = database.write_sessions if request.method in WRITE_METHODS else database.read_sessions
    session = factory()
    session.info[SESSION_LIMITER] = _limiters(request).db
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
            _end_transaction, session, commit, limiter=_limiters(request).exit
        )


@dataclass(frozen=True)
class ThreadLimiters:
    """The app's thread budgets, made by its lifespan (on the event loop)."""

    db: anyio.CapacityLimiter  # the short database hops
    exit: anyio.CapacityLimiter  # the sessions' final commits

    @classmethod
    def create(cls) -> ThreadLimiters:
        return cls(db=anyio.CapacityLimiter(DB_THREADS), exit=anyio.CapacityLimiter(EXIT_THREADS))


def _limiters(request: Request) -> ThreadLimiters:
    limiters: ThreadLimiters = request.app.state.thread_limiters
    return limiters


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
    return await anyio.to_thread.run_sync(call_and_end, limiter=session.info.get(SESSION_LIMITER))


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


async def current_user(request: Request, response: Response) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized()
    user, decision = await anyio.to_thread.run_sync(
        _authenticate, request, key.strip(), limiter=_limiters(request).db
    )
    if not decision.allowed:
        raise RateLimited(
            "Too many requests; retry after the delay given", headers=decision.headers()
        )
    response.headers.update(decision.headers())
    request.state.user_id = user.id
    return user


def _authenticate(request: Request, key: str) -> tuple[User, Decision]:
    # A short read session of its own, ended within this thread-pool hop: a request never holds
    # a connection (nor SQLite's write lock) while it waits for its next hop, so requests that
    # wait for a connection can never starve the ones that hold one (a deadlock, then 503s, as
    # soon as concurrency exceeded threads plus connections).
    with get_database(request).read_sessions() as session:
        _connect(request, session)
        user = session.scalar(select(User).where(User.api_key_hash == hash_api_key(key)))
        session.commit()
    if user is None or user.disabled:
        raise Unauthorized("The API key is not valid or its account is disabled")
    settings = get_settings(request)
    limiter: RateLimiter = request.app.state.limiter
    decision = limiter.hit(  # Redis, when configured: I/O, so here and not on the event loop
        f"key:{user.id}", rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst
    )
    return user, decision


CurrentUser = Annotated[User, Depends(current_user)]


async def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("This endpoint needs the admin role")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def _context(request: Request, user: User | None) -> RequestContext:
    return RequestContext(
        user_id=user.id if user else None,
        role=user.role if user else None,
        request_id=getattr(request.state, "request_id", None),
        test_run_id=getattr(request.state, "test_run_id", None),
    )


async def request_context(request: Request, user: CurrentUser) -> RequestContext:
    return _context(request, user)


Context = Annotated[RequestContext, Depends(request_context)]


async def anonymous_context(request: Request) -> RequestContext:
    return _context(request, None)


AnonymousContext = Annotated[RequestContext, Depends(anonymous_context)]
