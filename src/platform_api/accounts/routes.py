"""Open sign-up (rate limited per client address) and the caller's account."""

from __future__ import annotations

import functools

import anyio
from fastapi import APIRouter, Request

from platform_api.accounts import service
from platform_api.accounts.schemas import UserRead, UserRegister, UserWithKey
from platform_api.deps import AnonymousContext, CurrentUser, DbSession, get_settings, run_in_session
from platform_api.errors import RateLimited
from platform_api.ratelimit import RateLimiter

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


@router.post("/register", status_code=201, responses={409: {}, 429: {}, 503: {}})
async def register(
    body: UserRegister, request: Request, session: DbSession, ctx: AnonymousContext
) -> UserWithKey:
    settings = get_settings(request)
    limiter: RateLimiter = request.app.state.limiter
    client = request.client.host if request.client else "unknown"
    decision = await anyio.to_thread.run_sync(  # Redis, when configured: I/O
        functools.partial(
            limiter.hit,
            f"register:{client}",
            rate_per_s=settings.register_rate_limit_per_s,
            burst=settings.register_rate_limit_burst,
        )
    )
    if not decision.allowed:
        raise RateLimited("Too many sign-ups from this address", headers=decision.headers())
    user, api_key = await run_in_session(
        session, service.create_user, session, ctx, email=body.email, name=body.name
    )
    return UserWithKey(user=UserRead.model_validate(user), api_key=api_key)


@router.get("/me")
async def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)
