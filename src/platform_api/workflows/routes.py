"""Workflow routes: parse, call the service through `run_in_session`, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from platform_api.deps import Context, DbSession, run_in_session
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
async def list_workflows(
    workspace_id: str,
    session: DbSession,
    ctx: Context,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[WorkflowRead]:
    rows, cursor = await run_in_session(
        session, service.list_workflows, session, ctx, workspace_id, params
    )
    return Page(items=[WorkflowRead.model_validate(w) for w in rows], next_cursor=cursor)


@router.post("/workspaces/{workspace_id}/workflows", status_code=201, responses=NOT_FOUND)
async def create_workflow(
    workspace_id: str, body: WorkflowCreate, session: DbSession, ctx: Context
) -> WorkflowRead:
    workflow = await run_in_session(
        session,
        service.create_workflow,
        session,
        ctx,
        workspace_id,
        name=body.name,
        description=body.description,
        steps=dump_steps(body.steps),
    )
    return WorkflowRead.model_validate(workflow)


@router.get("/workflows/{workflow_id}", responses=NOT_FOUND)
async def get_workflow(workflow_id: str, session: DbSession, ctx: Context) -> WorkflowRead:
    workflow = await run_in_session(session, service.get_owned, session, ctx, workflow_id)
    return WorkflowRead.model_validate(workflow)


@router.patch("/workflows/{workflow_id}", responses=NOT_FOUND)
async def update_workflow(
    workflow_id: str, body: WorkflowUpdate, session: DbSession, ctx: Context
) -> WorkflowRead:
    workflow = await run_in_session(
        session,
        service.update_workflow,
        session,
        ctx,
        workflow_id,
        name=body.name,
        description=body.description,
        steps=dump_steps(body.steps) if body.steps is not None else None,
    )
    return WorkflowRead.model_validate(workflow)


@router.delete("/workflows/{workflow_id}", status_code=204, responses=NOT_FOUND)
async def delete_workflow(workflow_id: str, session: DbSession, ctx: Context) -> Response:
    await run_in_session(session, service.delete_workflow, session, ctx, workflow_id)
    return Response(status_code=204)
