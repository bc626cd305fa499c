"""Execution routes: parse, call the service through `run_in_session`, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from platform_api.deps import Context, DbSession, run_in_session
from platform_api.executions import service
from platform_api.executions.schemas import (
    ExecutionAccepted,
    ExecutionCreate,
    ExecutionRead,
    Status,
)
from platform_api.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1", tags=["executions"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such execution, workflow or workspace for this account"}
}


@router.post("/workflows/{workflow_id}/executions", status_code=202, responses=NOT_FOUND)
async def create_execution(
    workflow_id: str,
    session: DbSession,
    ctx: Context,
    response: Response,
    body: ExecutionCreate | None = None,
) -> ExecutionAccepted:
    """Queue an execution; the session is committed before this answer leaves the server."""
    body = body or ExecutionCreate()
    execution = await run_in_session(
        session, service.create_execution, session, ctx, workflow_id, input_text=body.input.text
    )
    response.headers["Location"] = f"/api/v1/executions/{execution.id}"
    return ExecutionAccepted(id=execution.id, status="queued")


@router.get("/executions/{execution_id}", responses=NOT_FOUND)
async def get_execution(execution_id: str, session: DbSession, ctx: Context) -> ExecutionRead:
    execution = await run_in_session(session, service.get_owned, session, ctx, execution_id)
    return ExecutionRead.model_validate(execution)


@router.get("/workspaces/{workspace_id}/executions", responses=NOT_FOUND)
async def list_executions(
    workspace_id: str,
    session: DbSession,
    ctx: Context,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Status | None, Query()] = None,
) -> Page[ExecutionRead]:
    rows, cursor = await run_in_session(
        session, service.list_executions, session, ctx, workspace_id, params, status=status
    )
    return Page(items=[ExecutionRead.model_validate(e) for e in rows], next_cursor=cursor)
