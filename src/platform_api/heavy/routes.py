"""Heavy routes (any authenticated user). Plain `def`: the request's database work runs in the
thread pool and its CPU work in the heavy process pool (platform_api.heavy.pool)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from platform_api.deps import Context, CurrentUser, DbSession, get_settings
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
    503: {"description": "The heavy-work processes failed or the server is shutting down"},
}


def request_budget(request: Request) -> Budget:
    """Starts when the request's dependencies are solved, before any heavy work."""
    return Budget(get_settings(request).heavy_timeout_s)


RequestBudget = Annotated[Budget, Depends(request_budget)]


async def heavy_pool(request: Request) -> HeavyPool:
    """`async`: no I/O, so no thread-pool hop (see platform_api.deps)."""
    pool: HeavyPool = request.app.state.heavy_pool
    return pool


Workers = Annotated[HeavyPool, Depends(heavy_pool)]


@router.post(
    "/workspaces/{workspace_id}/projects/generate",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, 404: {}, **POOLED},
)
def generate_project(
    workspace_id: str,
    body: ProjectGenerate,
    session: DbSession,
    ctx: Context,
    budget: RequestBudget,
    pool: Workers,
) -> Response:
    archive = service.generate_project(
        session,
        ctx,
        workspace_id,
        name=body.name,
        template=body.template,
        files=body.files,
        budget=budget,
        pool=pool,
    )
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{body.name}.zip"'},
    )


@router.get("/datasets")
def list_datasets(session: DbSession, user: CurrentUser) -> DatasetList:
    return DatasetList(
        items=[DatasetRead.model_validate(d) for d in service.list_datasets(session)]
    )


@router.get("/datasets/{dataset_id}/search", responses={404: {}, **TIMEOUT})
def search_dataset(
    dataset_id: str,
    session: DbSession,
    user: CurrentUser,
    budget: RequestBudget,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(pattern=service.DATASET_CURSOR_PATTERN)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    min_value: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    max_value: Annotated[float | None, Query(allow_inf_nan=False)] = None,
) -> Page[DatasetRowRead]:
    rows, cursor = service.search_dataset(
        session,
        dataset_id,
        PageParams(limit=limit, cursor=cursor),
        q=q,
        category=category,
        min_value=min_value,
        max_value=max_value,
        budget=budget,
    )
    return Page(items=[DatasetRowRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/analysis/samples")
def list_samples(session: DbSession, user: CurrentUser) -> SampleList:
    return SampleList(items=[SampleRead.model_validate(s) for s in service.list_samples(session)])


@router.post("/analysis/codebase", responses={404: {}, 413: {}, **POOLED})
def analyse_codebase(
    body: AnalysisRequest,
    session: DbSession,
    user: CurrentUser,
    budget: RequestBudget,
    pool: Workers,
) -> AnalysisRead:
    if isinstance(body, SampleAnalysis):
        return service.analyse_sample(session, sample=body.sample, budget=budget, pool=pool)
    return service.analyse_upload(
        session, archive_base64=body.archive_base64, budget=budget, pool=pool
    )
