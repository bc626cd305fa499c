"""Heavy work: project generation, deep dataset search and codebase analysis, each on a budget.

The database part runs like every service call (`deps.run_in_session`, a read session even for
the POSTs, since they write nothing); the CPU work of generation and analysis is a separate call
that takes no session and goes to the heavy process pool (platform_api.heavy.pool), so no
transaction, nor SQLite's write lock, is held through seconds of CPU.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from platform_api.context import RequestContext
from platform_api.errors import BadRequest, NotFound, ValidationFailed
from platform_api.heavy import analysis, generator
from platform_api.heavy.budget import Budget, database_budget
from platform_api.heavy.pool import HeavyPool
from platform_api.heavy.schemas import AnalysisRead, FunctionRead
from platform_api.models import CodeSample, Dataset, DatasetRow
from platform_api.pagination import PageParams
from platform_api.workspaces.service import get_owned

DATASET_CURSOR_PATTERN = r"^[0-9a-f]{16}-[0-9]{1,18}$"
DATASET_CURSOR = re.compile(DATASET_CURSOR_PATTERN)


def check_workspace(session: Session, ctx: RequestContext, workspace_id: str) -> None:
    """404 unless the caller owns the workspace that a project is generated for."""
    get_owned(session, ctx, workspace_id)


def generate_project(
    *, name: str, template: str, files: int, budget: Budget, pool: HeavyPool
) -> bytes:
    return pool.run(
        budget,
        generator.generate_project,
        name=name,
        template=template,
        files=files,
        budget=budget,
    )


def list_datasets(session: Session) -> list[Dataset]:
    return list(session.scalars(select(Dataset).order_by(Dataset.id)))


def search_dataset(
    session: Session,
    dataset_id: str,
    params: PageParams,
    *,
    q: str | None,
    category: str | None,
    min_value: float | None,
    max_value: float | None,
    budget: Budget,
) -> tuple[list[DatasetRow], str | None]:
    """Rows ordered by (value, id), walked with a keyset cursor: any page costs the same."""
    if session.get(Dataset, dataset_id) is None:
        raise NotFound("Dataset not found; GET /api/v1/datasets lists them")
    stmt = select(DatasetRow).where(DatasetRow.dataset_id == dataset_id)
    if category is not None:
        stmt = stmt.where(DatasetRow.category == category)
    if min_value is not None:
        stmt = stmt.where(DatasetRow.value >= min_value)
    if max_value is not None:
        stmt = stmt.where(DatasetRow.value <= max_value)
    if q:
        stmt = stmt.where(DatasetRow.name.icontains(q, autoescape=True))
    if params.cursor:
        value, row_id = decode_cursor(params.cursor)
        # `value >= ...` repeats the keyset condition in a form that an index range can use.
        stmt = stmt.where(
            DatasetRow.value >= value,
            or_(DatasetRow.value > value, and_(DatasetRow.value == value, DatasetRow.id > row_id)),
        )
    stmt = stmt.order_by(DatasetRow.value, DatasetRow.id).limit(params.limit + 1)
    with database_budget(session, budget):
        rows = list(session.scalars(stmt))
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    return rows, _encode_cursor(rows[-1].value, rows[-1].id)


def _encode_cursor(value: float, row_id: int) -> str:
    # The value's exact IEEE 754 bits, so that the next page starts exactly after this row.
    return f"{struct.pack('>d', value).hex()}-{row_id}"


def decode_cursor(cursor: str) -> tuple[float, int]:
    if not DATASET_CURSOR.fullmatch(cursor):
        raise BadRequest("The cursor is not valid; use next_cursor from a previous page")
    bits, row_id = cursor.split("-", 1)
    return struct.unpack(">d", bytes.fromhex(bits))[0], int(row_id)


def list_samples(session: Session) -> list[Any]:
    return list(
        session.execute(select(CodeSample.name, CodeSample.files).order_by(CodeSample.name))
    )


def sample_archive(session: Session, *, sample: str) -> bytes:
    archive = session.scalar(select(CodeSample.archive).where(CodeSample.name == sample))
    if archive is None:
        raise NotFound(f"No sample named {sample}; GET /api/v1/analysis/samples lists them")
    return archive


def analyse(archive: bytes, *, budget: Budget, pool: HeavyPool, cache_files: int) -> AnalysisRead:
    """`cache_files`: the bound of the cache of file figures in the process that does the work
    (`PLATFORM_ANALYSIS_CACHE_FILES`; 0 parses every file)."""
    return analysis_read(
        pool.run(budget, analysis.summarise_archive, archive, budget, cache_files=cache_files)
    )


def analysis_read(summary: analysis.CodebaseSummary) -> AnalysisRead:
    return AnalysisRead(
        files=summary.files,
        lines=summary.lines,
        functions=summary.functions,
        classes=summary.classes,
        average_complexity=summary.average_complexity,
        max_complexity=summary.max_complexity,
        syntax_errors=summary.syntax_errors,
        largest_functions=[
            FunctionRead(name=f.name, file=f.file, lines=f.lines, complexity=f.complexity)
            for f in summary.largest_functions
        ],
        cached_files=summary.cached_files,
    )


def decode_archive(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        message = "archive_base64 is not valid base64"
        raise ValidationFailed(
            message, details=[{"loc": ["body", "archive_base64"], "msg": message}]
        ) from exc
