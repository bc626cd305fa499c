"""Heavy routes (any authenticated user): the database part through `run_in_session` on a heavy
session (a read session on threads of its own), then the CPU work in the heavy process pool
(platform_api.heavy.pool), waited on from a thread of the default pool with no transaction open.
Generation and analysis first wait for a free process (`HeavyTurn`); their budget starts then.

The GETs authenticate in their route's own session and hop, as every read does (`Context`).
Generation and analysis (POSTs that write nothing) look the caller up in a hop of their own
first, before they queue for a process: a bad key is 401 at once and never waits for, nor
takes, a turn of the pool."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response

from platform_api.deps import (
    Context,
    CurrentUser,
    DbSession,
    HeavySession,
    get_settings,
    request_context,
    run_in_session,
)
from platform_api.heavy import service
from platform_api.heavy.budget import Budget
from platform_api.heavy.pool import HeavyPool
from platform_api.heavy.schemas import (
    AnalysisRead,
    AnalysisRequest,
    DatasetList,
    DatasetRead,
    DatasetRowRead,
    ProjectGenerate,
    SampleAnalysis,
    SampleList,
    SampleRead,
)
from platform_api.pagination import MAX_LIMIT, Page, PageParams

router = APIRouter(prefix="/api/v1", tags=["heavy"])
TIMEOUT: dict[int | str, dict[str, Any]] = {
    504: {"description": "Past the heavy-request budget (PLATFORM_HEAVY_TIMEOUT_S)"}
}
POOLED: dict[int | str, dict[str, Any]] = {
    **TIMEOUT,
    503: {
        "description": "No heavy-work process was free within PLATFORM_HEAVY_WAIT_S, the "
        "processes failed, or the server is shutting down"
    },
}


async def request_budget(request: Request) -> Budget:
    """Starts when the request's dependencies are solved, before any heavy work."""
    return Budget(get_settings(request).heavy_timeout_s)


RequestBudget = Annotated[Budget, Depends(request_budget)]


async def heavy_pool(request: Request) -> HeavyPool:
    """`async`: no I/O, so no thread-pool hop (see platform_api.deps)."""
    pool: HeavyPool = request.app.state.heavy_pool
    return pool


Workers = Annotated[HeavyPool, Depends(heavy_pool)]


async def heavy_turn(request: Request, pool: Workers) -> AsyncIterator[Budget]:
    """A process of the pool held for this request, and the budget of its work, which starts
    once the process is free: the wait for it is bounded on its own (`PLATFORM_HEAVY_WAIT_S`,
    then 503), so a request that gets its turn has its whole budget for the work."""
    async with pool.slot():
        yield Budget(get_settings(request).heavy_timeout_s)


# Released as the route returns, not after the response is sent.
HeavyTurn = Annotated[Budget, Depends(heavy_turn, scope="function")]


@router.post(
    "/workspaces/{workspace_id}/projects/generate",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, 404: {}, **POOLED},
)
async def generate_project(
    *,
    workspace_id: str,
    body: ProjectGenerate,
    session: HeavySession,
    ctx: Context,
    budget: HeavyTurn,
    pool: Workers,
) -> Response:
    await run_in_session(session, service.check_workspace, session, ctx, workspace_id)
    archive = await anyio.to_thread.run_sync(
        functools.partial(
            service.generate_project,
            name=body.name,
            template=body.template,
            files=body.files,
            budget=budget,
            pool=pool,
        )
    )
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{body.name}.zip"'},
    )


# The caller, looked up in the route's own hop by `run_in_session`; these services need no context.
AUTHENTICATED = [Depends(request_context)]


@router.get("/datasets", dependencies=AUTHENTICATED)
async def list_datasets(session: DbSession) -> DatasetList:
    datasets = await run_in_session(session, service.list_datasets, session)
    return DatasetList(items=[DatasetRead.model_validate(d) for d in datasets])


async def dataset_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(pattern=service.DATASET_CURSOR_PATTERN)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


@router.get(
    "/datasets/{dataset_id}/search", responses={404: {}, **TIMEOUT}, dependencies=AUTHENTICATED
)
async def search_dataset(
    *,
    dataset_id: str,
    session: HeavySession,
    budget: RequestBudget,
    page: Annotated[PageParams, Depends(dataset_page)],
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    min_value: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    max_value: Annotated[float | None, Query(allow_inf_nan=False)] = None,
) -> Page[DatasetRowRead]:
    rows, cursor = await run_in_session(
        session,
        service.search_dataset,
        session,
        dataset_id,
        page,
        q=q,
        category=category,
        min_value=min_value,
        max_value=max_value,
        budget=budget,
    )
    return Page(items=[DatasetRowRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/analysis/samples", dependencies=AUTHENTICATED)
async def list_samples(session: DbSession) -> SampleList:
    samples = await run_in_session(session, service.list_samples, session)
    return SampleList(items=[SampleRead.model_validate(s) for s in samples])


@router.post("/analysis/codebase", responses={404: {}, 413: {}, **POOLED})
async def analyse_codebase(
    *,
    request: Request,
    body: AnalysisRequest,
    session: HeavySession,
    user: CurrentUser,
    budget: HeavyTurn,
    pool: Workers,
) -> AnalysisRead:
    if isinstance(body, SampleAnalysis):
        archive = await run_in_session(session, service.sample_archive, session, sample=body.sample)
    else:
        archive = service.decode_archive(body.archive_base64)
    cache_files = get_settings(request).analysis_cache_files
    return await anyio.to_thread.run_sync(
        functools.partial(
            service.analyse, archive, budget=budget, pool=pool, cache_files=cache_files
        )
    )
