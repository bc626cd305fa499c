"""Workflow routes: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from platform_api.deps import Context, DbSession
from platform_api.pagination import Page, PageParams, page_params
from platform_api.workflows import service
from platform_api.workflows.schemas import (
    WorkflowCreate,
    WorkflowRead,
    WorkflowUpdate,
    dump_steps,
)

router = APIRouter(prefix="/api/v1", tags=["workflows"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such workflow or workspace for this account"}
}


@router.get("/workspaces/{workspace_id}/workflows", responses=NOT_FOUND)
def list_workflows(
    workspace_id: str,
    session: DbSession,
    ctx: Context,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[WorkflowRead]:
    rows, cursor = service.list_workflows(session, ctx, workspace_id, params)
    return Page(items=[WorkflowRead.model_validate(w) for w in rows], next_cursor=cursor)


@router.post("/workspaces/{workspace_id}/workflows", status_code=201, responses=NOT_FOUND)
def create_workflow(
    workspace_id: str, body: WorkflowCreate, session: DbSession, ctx: Context
) -> WorkflowRead:
    workflow = service.create_workflow(
        session,
        ctx,
        workspace_id,
        name=body.name,
        description=body.description,
        steps=dump_steps(body.steps),
    )
    return WorkflowRead.model_validate(workflow)


@router.get("/workflows/{workflow_id}", responses=NOT_FOUND)
def get_workflow(workflow_id: str, session: DbSession, ctx: Context) -> WorkflowRead:
    return WorkflowRead.model_validate(service.get_owned(session, ctx, workflow_id))


@router.patch("/workflows/{workflow_id}", responses=NOT_FOUND)
def update_workflow(
    workflow_id: str, body: WorkflowUpdate, session: DbSession, ctx: Context
) -> WorkflowRead:
    workflow = service.update_workflow(
        session,
        ctx,
        workflow_id,
        name=body.name,
        description=body.description,
        steps=dump_steps(body.steps) if body.steps is not None else None,
    )
    return WorkflowRead.model_validate(workflow)


@router.delete("/workflows/{workflow_id}", status_code=204, responses=NOT_FOUND)
def delete_workflow(workflow_id: str, session: DbSession, ctx: Context) -> Response:
    service.delete_workflow(session, ctx, workflow_id)
    return Response(status_code=204)
