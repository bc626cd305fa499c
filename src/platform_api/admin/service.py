"""What an operator needs: figures, the audit trail, accounts, costs and test-run cleanup.

Every function here assumes the caller is an admin (the routes check the role) and, like every
service, leaves the commit to the request boundary. The test-run cleanup spans several
transactions: its route runs them, one `cleanup.delete_batch` per transaction, then
`record_deletion`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import psutil
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from platform_api import audit, cleanup
from platform_api.accounts import service as accounts
from platform_api.admin.schemas import (
    CostGroup,
    CostReport,
    Counts,
    DatabaseFigures,
    GroupBy,
    ProcessFigures,
    QueueFigures,
    SystemMetrics,
)
from platform_api.context import RequestContext
from platform_api.db import pool_figures
from platform_api.errors import Conflict, NotFound
from platform_api.models import (
    AuditLog,
    CostRecord,
    Document,
    Execution,
    User,
    Workflow,
    Workspace,
)
from platform_api.pagination import PageParams, paginate

COUNTED = {
    "users": User,
    "workspaces": Workspace,
    "workflows": Workflow,
    "executions": Execution,
    "documents": Document,
}


def system_metrics(
    session: Session, *, process: psutil.Process, started_at: float
) -> SystemMetrics:
    counts = {
        name: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for name, model in COUNTED.items()
    }
    by_status = dict(
        session.execute(
            select(Execution.status, func.count())
            .where(Execution.status.in_(("queued", "running")))
            .group_by(Execution.status)
        ).all()
    )
    engine = session.get_bind().engine  # no I/O: its pool's figures and its dialect
    pool = pool_figures(engine)
    with process.oneshot():
        figures = ProcessFigures(
            cpu_percent=process.cpu_percent(interval=None),
            rss_bytes=process.memory_info().rss,
            threads=process.num_threads(),
            open_fds=process.num_fds(),
        )
    return SystemMetrics(
        counts=Counts(**counts),
        queue=QueueFigures(
            queued=int(by_status.get("queued", 0)), running=int(by_status.get("running", 0))
        ),
        database=DatabaseFigures(
            dialect=engine.dialect.name,
            pool_size=pool["size"],
            checked_out=pool["checked_out"],
            overflow=pool["overflow"],
        ),
        process=figures,
        uptime_s=round(time.time() - started_at, 3),
    )


def list_audit_logs(
    session: Session,
    params: PageParams,
    *,
    actor_id: str | None,
    action: str | None,
    target_type: str | None,
    test_run_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[AuditLog], str | None]:
    stmt = select(AuditLog)
    equal = {
        AuditLog.actor_id: actor_id,
        AuditLog.action: action,
        AuditLog.target_type: target_type,
        AuditLog.test_run_id: test_run_id,
    }
    for column, value in equal.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditLog.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditLog.created_at < until)
    return paginate(session, stmt, AuditLog.created_at, AuditLog.id, params)


def list_users(session: Session, params: PageParams) -> tuple[list[User], str | None]:
    return paginate(session, select(User), User.created_at, User.id, params)


def create_user(
    session: Session, ctx: RequestContext, *, email: str, name: str, role: str
) -> tuple[User, str]:
    return accounts.create_user(session, ctx, email=email, name=name, role=role)


def update_user(
    session: Session,
    ctx: RequestContext,
    user_id: str,
    *,
    role: str | None,
    disabled: bool | None,
) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    if user.id == ctx.user_id and (disabled or (role is not None and role != "admin")):
        raise Conflict("An admin cannot disable or demote their own account")
    if role is not None:
        user.role = role
    if disabled is not None:
        user.disabled = disabled
    session.flush()
    audit.record(session, ctx, "user.update", "user", user.id)
    return user


def cost_report(
    session: Session, *, group_by: GroupBy, since: datetime | None, until: datetime | None
) -> CostReport:
    key = _group_key(session, group_by)
    stmt = select(
        key.label("key"),
        func.sum(CostRecord.cost_usd).label("cost_usd"),
        func.sum(CostRecord.tokens).label("tokens"),
        func.count(func.distinct(CostRecord.execution_id)).label("executions"),
    ).group_by(key)
    if since is not None:
        stmt = stmt.where(CostRecord.created_at >= since)
    if until is not None:
        stmt = stmt.where(CostRecord.created_at < until)
    groups = [
        CostGroup(
            key=str(row.key),
            cost_usd=round(float(row.cost_usd or 0), 6),
            tokens=int(row.tokens or 0),
            executions=int(row.executions),
        )
        for row in session.execute(stmt)
    ]
    if group_by == "day":
        groups.sort(key=lambda group: group.key)
    else:
        groups.sort(key=lambda group: (-group.cost_usd, group.key))
    total = round(sum(group.cost_usd for group in groups), 6)
    return CostReport(group_by=group_by, since=since, until=until, total_usd=total, groups=groups)


def _group_key(session: Session, group_by: GroupBy) -> ColumnElement[Any]:
    if group_by == "workspace":
        return CostRecord.workspace_id.expression
    if group_by == "user":
        return func.coalesce(CostRecord.user_id, "unknown")
    if session.get_bind().dialect.name == "sqlite":
        # Stored as naive UTC text ("YYYY-MM-DD HH:MM:SS..."), so the day is its first ten chars.
        return func.substr(CostRecord.created_at, 1, 10)
    return func.to_char(func.timezone("UTC", CostRecord.created_at), "YYYY-MM-DD")


def record_deletion(session: Session, ctx: RequestContext, run_id: str) -> dict[str, int]:
    """The audit row of a complete cleanup, and the run's rows kept (its audit rows)."""
    # Untagged on purpose: the record that a run was removed must outlive the run.
    audit.record(session, replace(ctx, test_run_id=None), "test_run.delete", "test_run", run_id)
    return cleanup.count_kept(session, run_id)


def record_fault_change(session: Session, ctx: RequestContext) -> None:
    audit.record(session, ctx, "faults.update", "faults", None)
