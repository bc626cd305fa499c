"""Executions as the API sees them: queue one, read one, list a workspace's.

Running them is the worker's job (platform_api.worker with executions.queue); a request only ever
inserts a queued row, so the 202 answer costs one small write whatever the workflow does.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from platform_api import audit
from platform_api.context import RequestContext
from platform_api.errors import NotFound
from platform_api.models import Execution, Workspace
from platform_api.pagination import PageParams, paginate
from platform_api.workflows.service import get_owned as get_owned_workflow
from platform_api.workspaces.service import get_owned as get_owned_workspace


def create_execution(
    session: Session, ctx: RequestContext, workflow_id: str, *, input_text: str
) -> Execution:
    workflow = get_owned_workflow(session, ctx, workflow_id)
    execution = Execution(
        workflow_id=workflow.id,
        workspace_id=workflow.workspace_id,
        user_id=ctx.user_id,
        status="queued",
        input={"text": input_text},
        step_results=[],
        test_run_id=ctx.test_run_id,
    )
    session.add(execution)
    session.flush()
    audit.record(session, ctx, "execution.create", "execution", execution.id)
    return execution


def get_owned(session: Session, ctx: RequestContext, execution_id: str) -> Execution:
    row = session.execute(
        select(Execution, Workspace.owner_id)
        .join(Workspace, Workspace.id == Execution.workspace_id)
        .where(Execution.id == execution_id)
    ).first()
    if row is None or row.owner_id != ctx.user_id:
        raise NotFound("Execution not found")
    execution: Execution = row.Execution
    return execution


def list_executions(
    session: Session,
    ctx: RequestContext,
    workspace_id: str,
    params: PageParams,
    *,
    status: str | None,
) -> tuple[list[Execution], str | None]:
    get_owned_workspace(session, ctx, workspace_id)
    stmt = select(Execution).where(Execution.workspace_id == workspace_id)
    if status is not None:
        stmt = stmt.where(Execution.status == status)
    return paginate(session, stmt, Execution.created_at, Execution.id, params)
