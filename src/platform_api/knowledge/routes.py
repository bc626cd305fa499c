"""Knowledge-base routes: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from platform_api.deps import Context, DbSession, ScanSession, run_in_session
from platform_api.knowledge import service
from platform_api.knowledge.schemas import (
    DocumentCreate,
    DocumentRead,
    DocumentSummary,
    SearchResult,
)
from platform_api.knowledge.search_cache import SearchCache, get_search_cache
from platform_api.pagination import MAX_LIMIT, Page, PageParams, page_params
from platform_api.telemetry import Telemetry

router = APIRouter(prefix="/api/v1/workspaces", tags=["knowledge"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such workspace for this account"}
}
Cache = Annotated[SearchCache[SearchResult], Depends(get_search_cache)]


@router.post("/{workspace_id}/documents", status_code=201, responses=NOT_FOUND)
async def create_document(
    workspace_id: str, body: DocumentCreate, session: DbSession, ctx: Context, cache: Cache
) -> DocumentRead:
    document = await run_in_session(
        session,
        service.create_document,
        session,
        ctx,
        workspace_id,
        title=body.title,
        content=body.content,
        tags=body.tags,
        cache=cache,
    )
    return DocumentRead.model_validate(document)


@router.get("/{workspace_id}/documents", responses=NOT_FOUND)
async def list_documents(
    workspace_id: str,
    session: DbSession,
    ctx: Context,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[DocumentSummary]:
    rows, cursor = await run_in_session(
        session, service.list_documents, session, ctx, workspace_id, params
    )
    return Page(items=[DocumentSummary.model_validate(d) for d in rows], next_cursor=cursor)


@router.get("/{workspace_id}/search", responses=NOT_FOUND)
async def search(
    *,
    workspace_id: str,
    request: Request,
    session: ScanSession,
    ctx: Context,
    cache: Cache,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> SearchResult:
    telemetry: Telemetry = request.app.state.telemetry
    return await run_in_session(
        session,
        service.search,
        session,
        ctx,
        workspace_id,
        query=q,
        limit=limit,
        cache=cache,
        telemetry=telemetry,
    )
