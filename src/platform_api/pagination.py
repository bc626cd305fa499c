"""Keyset pagination over (created_at, id): stable under concurrent inserts, cheap at any depth.

A cursor is `<microseconds since the epoch>-<id>`. Its query parameter carries a pattern that only
decodable cursors match, so a malformed cursor is a 422 like any other bad parameter, and every
cursor that passes validation decodes (a client or fuzzer cannot reach a 400 with a valid-looking
value).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

import pydantic_core
from fastapi import Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Integer, Row, Select, and_, bindparam, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from platform_api.errors import BadRequest

T = TypeVar("T")
MAX_LIMIT = 100
# At most 16 digits of microseconds (year 2286), so every matching cursor is a valid datetime.
CURSOR_PATTERN = r"^[0-9]{1,16}-[A-Za-z0-9]{1,64}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=81, pattern=CURSOR_PATTERN)] = None,
) -> PageParams:
    # async: no I/O, so FastAPI need not hop to the thread pool for it.
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(created_at: datetime, row_id: str) -> str:
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return f"{(created_at - _EPOCH) // _MICROSECOND}-{row_id}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    if not _CURSOR.fullmatch(cursor):
        raise BadRequest("The cursor is not valid; use next_cursor from a previous page")
    micros, row_id = cursor.split("-", 1)
    return _EPOCH + int(micros) * _MICROSECOND, row_id


def paginate(
    session: Session,
    stmt: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    params: PageParams,
) -> tuple[list[Any], str | None]:
    """Newest first. Returns the rows of one page and the cursor of the next (None at the end)."""
    if params.cursor:
        at, last_id = decode_cursor(params.cursor)
        stmt = stmt.where(or_(created_at < at, and_(created_at == at, row_id < last_id)))
    rows = list(
        session.scalars(stmt.order_by(created_at.desc(), row_id.desc()).limit(params.limit + 1))
    )
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor(last.created_at, last.id)


@dataclass(frozen=True)
class KeysetQuery:
    """A Core query's first page and its next pages, built once (`paginate` builds an ORM query
    per call: on the busiest reads that and loading ORM objects cost more than the query itself,
    docs/benchmarks.md, "Reads, third round"). Rows are plain `Row`s of the query's columns,
    which must include `created_at` and `id`; newest first."""

    first: Select[Any]
    after: Select[Any]

    @classmethod
    def of(
        cls, stmt: Select[Any], created_at: ColumnElement[datetime], row_id: ColumnElement[str]
    ) -> KeysetQuery:
        after = stmt.where(
            or_(
                created_at < bindparam("cursor_at"),
                and_(created_at == bindparam("cursor_at"), row_id < bindparam("cursor_id")),
            )
        )
        order = (created_at.desc(), row_id.desc())
        limit = bindparam("page_limit", type_=Integer)
        return cls(stmt.order_by(*order).limit(limit), after.order_by(*order).limit(limit))

    def page(
        self, session: Session, params: PageParams, binds: Mapping[str, Any]
    ) -> tuple[Sequence[Row[Any]], str | None]:
        """One page for the statement's own `binds`, and the next page's cursor (None at the
        end)."""
        values = {**binds, "page_limit": params.limit + 1}
        stmt = self.first
        if params.cursor:
            values["cursor_at"], values["cursor_id"] = decode_cursor(params.cursor)
            stmt = self.after
        rows = session.connection().execute(stmt, values).all()
        if len(rows) <= params.limit:
            return rows, None
        rows = rows[: params.limit]
        last = rows[-1]
        return rows, encode_cursor(last.created_at, last.id)


def page_response(rows: Sequence[Row[Any]], next_cursor: str | None) -> Response:
    """A page of rows as JSON, for a route whose `response_model` is the page's schema and
    whose query selects exactly that schema's fields: FastAPI neither validates nor serializes
    a returned `Response`, which for a page of 20 cost more than the query (docs/benchmarks.md,
    "Reads, third round"). pydantic_core writes what the response model would have (the same
    serializer: UTC times end in `Z`)."""
    # The names once per page, not per row (`Row._asdict` rebuilds its key view for each row).
    names = rows[0]._fields if rows else ()
    items = [dict(zip(names, row, strict=True)) for row in rows]
    page = {"items": items, "next_cursor": next_cursor}
    return Response(pydantic_core.to_json(page), media_type="application/json")
