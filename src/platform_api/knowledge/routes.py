"""Knowledge-base routes: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from platform_api.deps import Context, DbSession, get_settings
from platform_api.knowledge import service
from platform_api.knowledge.schemas import (
    DocumentCreate,
    DocumentRead,
    DocumentSummary,
    SearchResult,
)
from platform_api.knowledge.search_cache import SearchCache
from platform_api.pagination import MAX_LIMIT, Page, PageParams, page_params
from platform_api.telemetry import Telemetry

router = APIRouter(prefix="/api/v1/workspaces", tags=["knowledge"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such workspace for this account"}
}
CACHE_STATE = "search_cache"


async def get_search_cache(request: Request) -> SearchCache[SearchResult]:
    """The app's search cache, made on first use (async: the event loop runs it, so no race)."""
    state = request.app.state
    cache: SearchCache[SearchResult] | None = getattr(state, CACHE_STATE, None)
    if cache is None:
        cache = SearchCache(ttl_s=get_settings(request).cache_ttl_s)
        setattr(state, CACHE_STATE, cache)
    return cache


Cache = Annotated[SearchCache[SearchResult], Depends(get_search_cache)]


@router.post("/{workspace_id}/documents", status_code=201, responses=NOT_FOUND)
def create_document(
    workspace_id: str, body: DocumentCreate, session: DbSession, ctx: Context, cache: Cache
) -> DocumentRead:
    document = service.create_document(
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
def list_documents(
    workspace_id: str,
    session: DbSession,
    ctx: Context,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[DocumentSummary]:
    rows, cursor = service.list_documents(session, ctx, workspace_id, params)
    return Page(items=[DocumentSummary.model_validate(d) for d in rows], next_cursor=cursor)


@router.get("/{workspace_id}/search", responses=NOT_FOUND)
def search(
    workspace_id: str,
    request: Request,
    session: DbSession,
    ctx: Context,
    cache: Cache,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> SearchResult:
    telemetry: Telemetry = request.app.state.telemetry
    return service.search(
        session, ctx, workspace_id, query=q, limit=limit, cache=cache, telemetry=telemetry
    )
