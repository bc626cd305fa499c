"""Workflows live in a workspace; the workspace's ownership check guards every one of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platform_api import audit
from platform_api.context import RequestContext
from platform_api.errors import NotFound
from platform_api.models import Workflow, Workspace
from platform_api.pagination import PageParams, paginate
from platform_api.workspaces.service import get_owned as get_owned_workspace


def get_owned(session: Session, ctx: RequestContext, workflow_id: str) -> Workflow:
    """The caller's workflow, or NotFound (also for another account's, so ids do not leak)."""
    row = session.execute(
        select(Workflow, Workspace.owner_id)
        .join(Workspace, Workspace.id == Workflow.workspace_id)
        .where(Workflow.id == workflow_id)
    ).first()
    if row is None or row.owner_id != ctx.user_id:
        raise NotFound("Workflow not found")
    workflow: Workflow = row.Workflow
    return workflow


def list_workflows(
    session: Session, ctx: RequestContext, workspace_id: str, params: PageParams
) -> tuple[list[Workflow], str | None]:
    get_owned_workspace(session, ctx, workspace_id)
    stmt = select(Workflow).where(Workflow.workspace_id == workspace_id)
    return paginate(session, stmt, Workflow.created_at, Workflow.id, params)


def create_workflow(
    session: Session,
    ctx: RequestContext,
    workspace_id: str,
    *,
    name: str,
    description: str,
    steps: list[dict[str, Any]],
) -> Workflow:
    get_owned_workspace(session, ctx, workspace_id)
    workflow = Workflow(
        workspace_id=workspace_id,
        name=name,
        description=description,
        steps=steps,
        test_run_id=ctx.test_run_id,
    )
    session.add(workflow)
    session.flush()
    audit.record(session, ctx, "workflow.create", "workflow", workflow.id)
    return workflow


def update_workflow(
    session: Session,
    ctx: RequestContext,
    workflow_id: str,
    *,
    name: str | None,
    description: str | None,
    steps: list[dict[str, Any]] | None,
) -> Workflow:
    workflow = get_owned(session, ctx, workflow_id)
    if name is not None:
        workflow.name = name
    if description is not None:
        workflow.description = description
    if steps is not None:
        workflow.steps = steps
    session.flush()
    audit.record(session, ctx, "workflow.update", "workflow", workflow.id)
    return workflow


def delete_workflow(session: Session, ctx: RequestContext, workflow_id: str) -> None:
    workflow = get_owned(session, ctx, workflow_id)
    session.delete(workflow)
    audit.record(session, ctx, "workflow.delete", "workflow", workflow_id)
