"""Admin routes (role `admin`; 401 without a key, 403 for members): parse, call, return.

The test-run cleanup is the one route that ends several transactions: it runs its batches here,
each through `run_in_session`, because the request boundary is where transactions end (services
never commit).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request

from platform_api import cleanup
from platform_api.accounts.schemas import UserRead, UserWithKey
from platform_api.admin import service
from platform_api.admin.schemas import (
    AdminUserCreate,
    AdminUserUpdate,
    AuditLogRead,
    CostReport,
    FaultSettingsBody,
    GroupBy,
    Moment,
    SystemMetrics,
    TestRunDeleted,
)
from platform_api.deps import (
    Context,
    DbSession,
    ScanSession,
    get_settings,
    require_admin,
    run_in_session,
)
from platform_api.knowledge.search_cache import SearchCache, get_search_cache
from platform_api.middleware import FaultState
from platform_api.pagination import Page, PageParams, page_params
from platform_api.settings import FaultSettings

logger = logging.getLogger("platform_api")
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API key"},
    403: {"description": "The caller is not an admin"},
}
router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=RESPONSES,
)
Paging = Annotated[PageParams, Depends(page_params)]
Since = Annotated[Moment, Query(description="Inclusive lower bound (ISO 8601; UTC without offset)")]
Until = Annotated[Moment, Query(description="Exclusive upper bound (ISO 8601; UTC without offset)")]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Cache = Annotated[SearchCache[Any], Depends(get_search_cache)]


@router.get("/metrics")
async def system_metrics(request: Request, session: ScanSession) -> SystemMetrics:
    return await run_in_session(
        session,
        service.system_metrics,
        session,
        process=request.app.state.process,
        started_at=request.app.state.started_at,
    )


@router.get("/audit-logs")
async def list_audit_logs(
    *,
    session: ScanSession,
    params: Paging,
    actor_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    test_run_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Since = None,
    until: Until = None,
) -> Page[AuditLogRead]:
    rows, cursor = await run_in_session(
        session,
        service.list_audit_logs,
        session,
        params,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        test_run_id=test_run_id,
        since=since,
        until=until,
    )
    return Page(items=[AuditLogRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/users")
async def list_users(session: DbSession, params: Paging) -> Page[UserRead]:
    rows, cursor = await run_in_session(session, service.list_users, session, params)
    return Page(items=[UserRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/users", status_code=201, responses={409: {"description": "The email exists"}})
async def create_user(body: AdminUserCreate, session: DbSession, ctx: Context) -> UserWithKey:
    user, api_key = await run_in_session(
        session, service.create_user, session, ctx, email=body.email, name=body.name, role=body.role
    )
    return UserWithKey(user=UserRead.model_validate(user), api_key=api_key)


@router.patch("/users/{user_id}", responses={404: {}, 409: {}})
async def update_user(
    user_id: str, body: AdminUserUpdate, session: DbSession, ctx: Context
) -> UserRead:
    user = await run_in_session(
        session, service.update_user, session, ctx, user_id, role=body.role, disabled=body.disabled
    )
    return UserRead.model_validate(user)


@router.get("/costs")
async def cost_report(
    session: ScanSession,
    group_by: GroupBy = "workspace",
    since: Since = None,
    until: Until = None,
) -> CostReport:
    return await run_in_session(
        session, service.cost_report, session, group_by=group_by, since=since, until=until
    )


@router.get("/faults")
async def get_faults(request: Request) -> FaultSettingsBody:
    faults: FaultState = request.app.state.faults
    return FaultSettingsBody.model_validate(faults.settings.model_dump())


@router.put("/faults")
async def replace_faults(
    body: FaultSettingsBody, request: Request, session: DbSession, ctx: Context
) -> FaultSettingsBody:
    faults: FaultState = request.app.state.faults
    # Every field passed explicitly, so no PLATFORM_FAULT_* variable leaks into the new settings.
    faults.replace(FaultSettings(**body.model_dump()))
    await run_in_session(session, service.record_fault_change, session, ctx)
    return body


@router.delete("/test-runs/{run_id}", responses={503: {"description": "The database is busy"}})
async def delete_test_run(
    run_id: RunId, request: Request, session: DbSession, ctx: Context, cache: Cache
) -> TestRunDeleted:
    """The run's rows, batch by batch, each batch its own transaction (so other writers get the
    database between batches); a busy batch is retried with a growing pause. Past the budget the
    answer says `complete: false` (and counts nothing as kept yet): the caller asks again. The
    search cache is dropped after the last batch; the audit trail records a complete deletion."""
    settings = get_settings(request)
    report = cleanup.CleanupReport(run_id)
    deadline = anyio.current_time() + settings.cleanup_budget_s
    pause_s = 0.05
    while anyio.current_time() < deadline:
        try:
            batch = await run_in_session(
                session,
                cleanup.delete_batch,
                session,
                run_id,
                batch_rows=settings.cleanup_batch_rows,
            )
        except cleanup.BUSY_ERRORS as exc:
            if not cleanup.is_busy(exc):
                raise
            report.retries += 1
            logger.info("cleanup of test run %s: the database is busy, retrying", run_id)
            await anyio.sleep(pause_s)
            pause_s = min(pause_s * 2, 1.0)
            continue
        report.add(batch)
        pause_s = 0.05
        if not any(batch.values()):
            report.complete = True
            break
    cache.clear()
    if report.complete:
        report.kept = await run_in_session(session, service.record_deletion, session, ctx, run_id)
    return TestRunDeleted(
        run_id=run_id,
        deleted=report.deleted,
        kept=report.kept,
        complete=report.complete,
        batches=report.batches,
        retries=report.retries,
    )
