"""Workspace routes: parse, call the service through `run_in_session`, return a schema.

Like every database route (see platform_api.deps), `async def`, with the (blocking) service and
its commit in one thread-pool hop.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from platform_api.deps import Context, DbSession, run_in_session
from platform_api.pagination import Page, PageParams, page_params, page_response
from platform_api.workspaces import service
from platform_api.workspaces.schemas import WorkspaceCreate, WorkspaceRead, WorkspaceUpdate

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such workspace for this account"}
}


@router.get("", response_model=Page[WorkspaceRead])
async def list_workspaces(
    session: DbSession, ctx: Context, params: Annotated[PageParams, Depends(page_params)]
) -> Response:
    rows, cursor = await run_in_session(session, service.list_workspaces, session, ctx, params)
    return page_response(rows, cursor)


@router.post("", status_code=201)
async def create_workspace(
    body: WorkspaceCreate, session: DbSession, ctx: Context
) -> WorkspaceRead:
    workspace = await run_in_session(
        session,
        service.create_workspace,
        session,
        ctx,
        name=body.name,
        description=body.description,
    )
    return WorkspaceRead.model_validate(workspace)


@router.get("/{workspace_id}", responses=NOT_FOUND)
async def get_workspace(workspace_id: str, session: DbSession, ctx: Context) -> WorkspaceRead:
    workspace = await run_in_session(session, service.get_owned, session, ctx, workspace_id)
    return WorkspaceRead.model_validate(workspace)


@router.patch("/{workspace_id}", responses=NOT_FOUND)
async def update_workspace(
    workspace_id: str, body: WorkspaceUpdate, session: DbSession, ctx: Context
) -> WorkspaceRead:
    workspace = await run_in_session(
        session,
        service.update_workspace,
        session,
        ctx,
        workspace_id,
        name=body.name,
        description=body.description,
    )
    return WorkspaceRead.model_validate(workspace)


@router.delete("/{workspace_id}", status_code=204, responses=NOT_FOUND)
async def delete_workspace(workspace_id: str, session: DbSession, ctx: Context) -> Response:
    await run_in_session(session, service.delete_workspace, session, ctx, workspace_id)
    return Response(status_code=204)
