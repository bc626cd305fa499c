"""Admin routes (role `admin`; 401 without a key, 403 for members): parse, call, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

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
    get_database,
    get_settings,
    require_admin,
    run_in_session,
)
from platform_api.knowledge.search_cache import SearchCache, get_search_cache
from platform_api.middleware import FaultState
from platform_api.pagination import Page, PageParams, page_params
from platform_api.settings import FaultSettings

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
async def system_metrics(request: Request, session: DbSession) -> SystemMetrics:
    return await run_in_session(
        session,
        service.system_metrics,
        session,
        engine=get_database(request).engine,
        process=request.app.state.process,
        started_at=request.app.state.started_at,
    )


@router.get("/audit-logs")
async def list_audit_logs(
    *,
    session: DbSession,
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
    session: DbSession,
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
    settings = get_settings(request)
    report = await service.delete_test_run(
        session,
        ctx,
        run_id,
        batch_rows=settings.cleanup_batch_rows,
        budget_s=settings.cleanup_budget_s,
        after_delete=cache.clear,
    )
    return TestRunDeleted(
        run_id=run_id,
        deleted=report.deleted,
        kept=report.kept,
        complete=report.complete,
        batches=report.batches,
        retries=report.retries,
    )
