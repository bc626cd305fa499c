"""FastAPI dependencies: the request's database session, the caller, and the request context.

One transaction path: every route that uses the database is `async def` and runs its service
call through `run_in_session`, which commits (or rolls back) in the same thread-pool hop, before
the response exists; so a 2xx answer always means the write is durable, and no transaction (nor
SQLite's write lock) is ever held while the request waits for another thread.

Dependencies that do no I/O are `async def`: FastAPI runs every plain `def` dependency in the
thread pool, and each such hop costs more than the work itself (see docs/benchmarks.md).

Where the hop runs: on SQLite a `DbSession` read (a keyset page, a row by its key: a fraction of a
millisecond) runs on the event loop itself, on a connection kept for the loop's thread alone, so
it never waits for a thread nor for the pool; a thread hop cost more CPU than the read (1.0 against
2.2 ms of CPU per `GET /api/v1/workspaces` under 32 clients, docs/benchmarks.md). Reads that scan
or aggregate take a `ScanSession` (the database threads on every backend), the heavy routes a
`HeavySession` (threads of their own); writes, and every session on PostgreSQL (network I/O), hop.

A read authenticates in its route's hop: the `Context` dependency only reads the key from the
header (401 on the event loop when there is none), and `run_in_session` looks the caller up in the
route's own session, in the same thread-pool hop and transaction, before the service runs. So an
authenticated read is one hop and one session, and a disabled account still fails on its very
next request (no cache). A write authenticates in a hop of its own before its session is used, so
that a bad key never queues for SQLite's write queue nor lengthens the transaction of its turn.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, ParamSpec, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from platform_api.context import RequestContext
from platform_api.db import Database
from platform_api.errors import Forbidden, RateLimited, Unauthorized
from platform_api.middleware import RATE_LIMIT_HEADERS
from platform_api.models import User
from platform_api.ratelimit import Decision, RateLimiter
from platform_api.settings import Settings
from platform_api.telemetry import Telemetry
from platform_api.write_queue import WriteQueue

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Few threads for the short database hops: with the GIL, more runnable threads only add hand-offs
# (on the shared 2 cores, reads fell from ~810 req/s with 1 client to ~460 with 32 clients on the
# default 40 threads; ~640 on these 8).
DB_THREADS = 8
# The heavy routes' database work (dataset searches of up to PLATFORM_HEAVY_TIMEOUT_S) has its
# own threads: on the shared 8 a few slow searches stalled every request behind them.
HEAVY_DB_THREADS = 8
# Closing a session that a cancelled request left open has threads of its own, so it can never
# wait behind the requests that wait for the connection it holds.
EXIT_THREADS = 20
SESSION_BUDGETS = "platform_session_budgets"
IS_WRITE = "platform_is_write"
THREADS = "platform_threads"
ON_LOOP = "platform_on_loop"
REQUEST = "platform_request"
PENDING = "platform_pending_caller"  # request.state: a read's caller, not yet looked up
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
    """The request's session: a write session for POST, PUT, PATCH and DELETE; on SQLite a
    read's runs on the event loop (short reads only: a page, a row)."""
    write = request.method in WRITE_METHODS
    async with _session(request, write=write, on_loop=not write) as session:
        yield session


async def get_scan_session(request: Request) -> AsyncIterator[Session]:
    """For reads that scan or aggregate (searches, admin figures): in the database threads on
    every backend, so that a read of many rows never holds the event loop."""
    async with _session(request, write=request.method in WRITE_METHODS) as session:
        yield session


async def get_heavy_session(request: Request) -> AsyncIterator[Session]:
    """For the heavy routes, which write nothing: a read session whatever the method (a POST
    never queues for, nor holds, SQLite's write lock), whose hops take threads of their own, so
    that searches running for seconds never hold the threads every other request needs."""
    async with _session(request, write=False, heavy=True) as session:
        yield session


@asynccontextmanager
async def _session(
    request: Request, *, write: bool, heavy: bool = False, on_loop: bool = False
) -> AsyncIterator[Session]:
    """Made on the event loop (a session does no I/O until its first query). The route ends it
    with `run_in_session`; the exit only closes what a cancelled or failed request left open."""
    database = get_database(request)
    loop_sessions = database.loop_sessions if on_loop else None
    if loop_sessions is not None:
        session = loop_sessions()
    else:
        session = (database.write_sessions if write else database.read_sessions)()
    session.info[ON_LOOP] = loop_sessions is not None
    budgets = _budgets(request)
    session.info[SESSION_BUDGETS] = budgets
    session.info[IS_WRITE] = write
    session.info[THREADS] = budgets.heavy if heavy else budgets.db
    session.info[REQUEST] = request
    try:
        yield session
        if session.in_transaction():
            raise RuntimeError("a route must reach the database through run_in_session")
        if getattr(request.state, PENDING, None) is not None:
            raise RuntimeError("a read with a Context must authenticate through run_in_session")
    finally:
        await _close(request, session)


async def _close(request: Request, session: Session) -> None:
    if not session.in_transaction():
        session.close()  # no connection held, so no I/O
        return
    # Only a request cancelled mid-hop gets here. Its own threads and shielded: a client that
    # goes away must not leave the connection checked out.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(session.close, limiter=_budgets(request).exit)


@dataclass(frozen=True)
class SessionBudgets:
    """The app's thread budgets and SQLite's write queue, made by its lifespan.

    The queue is why 60 simultaneous writers cannot deadlock SQLite: a writer waits in it on the
    event loop, holding no thread, and its transaction then starts, runs and commits on the
    queue's one thread (`run_in_session`), which goes on to the next writer by itself: the holder
    of the write lock never waits for a thread that the lock's waiters hold (the deadlock at 41
    writers), nor for the event loop (seconds of 503s under 500 users, platform_api.write_queue).
    """

    db: anyio.CapacityLimiter  # the database hops
    heavy: anyio.CapacityLimiter  # the heavy routes' database hops (searches on a time budget)
    exit: anyio.CapacityLimiter  # closing what a cancelled request left open
    writes: WriteQueue | None  # SQLite only: one writer transaction at a time per process

    @classmethod
    def create(cls, writes: WriteQueue | None) -> SessionBudgets:
        return cls(
            db=anyio.CapacityLimiter(DB_THREADS),
            heavy=anyio.CapacityLimiter(HEAVY_DB_THREADS),
            exit=anyio.CapacityLimiter(EXIT_THREADS),
            writes=writes,
        )


def _budgets(request: Request) -> SessionBudgets:
    budgets: SessionBudgets = request.app.state.session_budgets
    return budgets


async def run_in_session(
    session: Session, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """The one way a route reaches the database: run a service call in one thread-pool hop (on
    the event loop for a SQLite `DbSession` read) and end the request's transaction in that same
    step (commit on success, roll back on error). Returned ORM objects stay loaded
    (`expire_on_commit=False`).

    On SQLite a write session runs on the write queue's thread instead, after the writers before
    it; one that has not started within `write_wait_s` is answered 503 with Retry-After
    (`DatabaseBusy`)."""

    request: Request = session.info[REQUEST]
    pending: _PendingCaller | None = getattr(request.state, PENDING, None)
    setattr(request.state, PENDING, None)
    decision: list[Decision] = []

    def call_and_end() -> T:
        try:
            if pending is not None:  # the caller, in this session and this hop
                user, hit = _identify(request, session, pending.key)
                pending.context.identify(user_id=user.id, role=user.role)
                decision.append(hit)
            result = func(*args, **kwargs)
            session.commit()
            return result
        finally:
            session.close()

    def answer(result: T) -> T:
        if pending is not None:
            _allowed(request, decision[0])
            request.state.user_id = pending.context.user_id
        return result

    if session.info[ON_LOOP]:
        # No await until the transaction has ended: the loop's connection serves one request
        # at a time.
        return answer(call_and_end())
    budgets: SessionBudgets = session.info[SESSION_BUDGETS]
    writes = budgets.writes if session.info[IS_WRITE] else None
    if writes is None:
        # Once started, the thread runs to its end even if the client goes away: the
        # transaction is always ended.
        return answer(await anyio.to_thread.run_sync(call_and_end, limiter=session.info[THREADS]))
    return answer(await writes.run(call_and_end))


def _connect(request: Request, session: Session) -> Connection:
    """Take the connection first, so that pool waits are measured and fail fast (503)."""
    telemetry: Telemetry = request.app.state.telemetry
    telemetry.pool_waiters.inc()
    try:
        with telemetry.pool_wait.time():
            return session.connection()
    finally:
        telemetry.pool_waiters.dec()


DbSession = Annotated[Session, Depends(get_session, scope="function")]
ScanSession = Annotated[Session, Depends(get_scan_session, scope="function")]
HeavySession = Annotated[Session, Depends(get_heavy_session, scope="function")]


def _bearer_key(request: Request) -> str:
    """The key in the Authorization header; 401 on the event loop when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized()
    return key.strip()


@dataclass(frozen=True, slots=True)
class Caller:
    """The account behind a request's key: the columns of `users` that routes read."""

    id: str
    email: str
    name: str
    role: str
    disabled: bool
    created_at: datetime


# Built once and run on the session's connection, without the ORM: building statements and
# loading ORM objects were most of a read's database work (this and the workspace list in Core:
# 2.3 -> 1.4 ms of CPU per read, docs/benchmarks.md, "Reads, third round").
_USERS = User.__table__
_CALLER_BY_KEY_HASH = select(*(_USERS.c[f.name] for f in fields(Caller))).where(
    _USERS.c.api_key_hash == bindparam("key_hash")
)


async def current_user(request: Request) -> Caller:
    """The caller, looked up in a hop of its own (`/auth/me`, admin routes, writes, the heavy
    POSTs). A read with a `Context` is authenticated in its route's hop instead."""
    user, decision = await anyio.to_thread.run_sync(
        _authenticate, request, _bearer_key(request), limiter=_budgets(request).db
    )
    _allowed(request, decision)
    request.state.user_id = user.id
    request.state.platform_user = user
    return user


def _allowed(request: Request, decision: Decision) -> None:
    """The caller's RateLimit-* headers, which the middleware adds to whatever answers it: a
    route may return its own `Response` (no dependency's headers are merged into one)."""
    headers = decision.headers().items()
    setattr(
        request.state, RATE_LIMIT_HEADERS, [(k.lower().encode(), v.encode()) for k, v in headers]
    )


def _authenticate(request: Request, key: str) -> tuple[Caller, Decision]:
    # A short read session of its own, ended within this thread-pool hop: a request never holds
    # a connection (nor SQLite's write lock) while it waits for its next hop, so requests that
    # wait for a connection can never starve the ones that hold one (a deadlock, then 503s, as
    # soon as concurrency exceeded threads plus connections).
    with get_database(request).read_sessions() as session:
        result = _identify(request, session, key)
        session.commit()
    return result


def _identify(request: Request, session: Session, key: str) -> tuple[Caller, Decision]:
    """The caller of `key` and its rate-limit decision (in the caller's thread-pool hop)."""
    connection = _connect(request, session)
    row = connection.execute(_CALLER_BY_KEY_HASH, {"key_hash": hash_api_key(key)}).first()
    user = None if row is None else Caller(*row)
    if user is None or user.disabled:
        raise Unauthorized("The API key is not valid or its account is disabled")
    settings = get_settings(request)
    limiter: RateLimiter = request.app.state.limiter
    decision = limiter.hit(  # Redis, when configured: I/O, so here and not on the event loop
        f"key:{user.id}", rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst
    )
    if not decision.allowed:
        raise RateLimited(
            "Too many requests; retry after the delay given", headers=decision.headers()
        )
    return user, decision


CurrentUser = Annotated[Caller, Depends(current_user)]


async def require_admin(user: CurrentUser) -> Caller:
    if user.role != "admin":
        raise Forbidden("This endpoint needs the admin role")
    return user


AdminUser = Annotated[Caller, Depends(require_admin)]


def _context(request: Request, user: Caller | None) -> RequestContext:
    return RequestContext(
        user_id=user.id if user else None,
        role=user.role if user else None,
        request_id=getattr(request.state, "request_id", None),
        test_run_id=getattr(request.state, "test_run_id", None),
    )


@dataclass(frozen=True)
class _PendingCaller:
    """A read's caller, to be authenticated by `run_in_session` in the route's hop."""

    key: str
    context: RequestContext


async def request_context(request: Request) -> RequestContext:
    user: Caller | None = getattr(request.state, "platform_user", None)
    if user is None and request.method in WRITE_METHODS:
        user = await current_user(request)
    if user is not None:  # already authenticated (a write, or `require_admin` before this)
        return _context(request, user)
    context = _context(request, None)
    setattr(request.state, PENDING, _PendingCaller(_bearer_key(request), context))
    return context


Context = Annotated[RequestContext, Depends(request_context)]


async def anonymous_context(request: Request) -> RequestContext:
    return _context(request, None)


AnonymousContext = Annotated[RequestContext, Depends(anonymous_context)]
