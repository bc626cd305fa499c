"""Workspace routes: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from platform_api.deps import Context, DbSession
from platform_api.pagination import Page, PageParams, page_params
from platform_api.workspaces import service
from platform_api.workspaces.schemas import WorkspaceCreate, WorkspaceRead, WorkspaceUpdate

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such workspace for this account"}
}


@router.get("")
def list_workspaces(
    session: DbSession, ctx: Context, params: Annotated[PageParams, Depends(page_params)]
) -> Page[WorkspaceRead]:
    rows, cursor = service.list_workspaces(session, ctx, params)
    return Page(items=[WorkspaceRead.model_validate(w) for w in rows], next_cursor=cursor)


@router.post("", status_code=201)
def create_workspace(body: WorkspaceCreate, session: DbSession, ctx: Context) -> WorkspaceRead:
    workspace = service.create_workspace(session, ctx, name=body.name, description=body.description)
    return WorkspaceRead.model_validate(workspace)


@router.get("/{workspace_id}", responses=NOT_FOUND)
def get_workspace(workspace_id: str, session: DbSession, ctx: Context) -> WorkspaceRead:
    return WorkspaceRead.model_validate(service.get_owned(session, ctx, workspace_id))


@router.patch("/{workspace_id}", responses=NOT_FOUND)
def update_workspace(
    workspace_id: str, body: WorkspaceUpdate, session: DbSession, ctx: Context
) -> WorkspaceRead:
    workspace = service.update_workspace(
        session, ctx, workspace_id, name=body.name, description=body.description
    )
    return WorkspaceRead.model_validate(workspace)


@router.delete("/{workspace_id}", status_code=204, responses=NOT_FOUND)
def delete_workspace(workspace_id: str, session: DbSession, ctx: Context) -> Response:
    service.delete_workspace(session, ctx, workspace_id)
    return Response(status_code=204)
