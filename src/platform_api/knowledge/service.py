"""The knowledge base: documents in a workspace and ranked full-text search over them.

The index is the database's own (see the initial migration): SQLite FTS5 ranked by bm25 with
title matches weighted above body matches, or PostgreSQL's weighted tsvector (title A, body B)
with a GIN index, ranked by ts_rank. Both stem English words and AND the query's terms. Answers
are cached per (workspace, query, limit) and dropped when the workspace gets a new document.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, defer

from platform_api import audit
from platform_api.context import RequestContext
from platform_api.knowledge.schemas import SearchHit, SearchResult
from platform_api.knowledge.search_cache import SearchCache
from platform_api.models import Document
from platform_api.pagination import PageParams, paginate
from platform_api.telemetry import Telemetry
from platform_api.workspaces.service import get_owned

TITLE_WEIGHT = 5.0
SNIPPET_TOKENS = 32
WORD = re.compile(r"\w+")

SQLITE_HITS = text(
    "SELECT d.id, d.title, "
    f"snippet(documents_fts, -1, '<mark>', '</mark>', '…', {SNIPPET_TOKENS}) AS snippet, "
    f"-bm25(documents_fts, {TITLE_WEIGHT}, 1.0) AS score "
    "FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid "
    "WHERE documents_fts MATCH :match AND d.workspace_id = :workspace_id "
    "ORDER BY score DESC, d.id LIMIT :limit"
)
SQLITE_TOTAL = text(
    "SELECT count(*) FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid "
    "WHERE documents_fts MATCH :match AND d.workspace_id = :workspace_id"
)
# The headline is computed for the page only: it re-parses the text, the costly part of a search.
POSTGRES_HITS = text(
    "WITH q AS (SELECT plainto_tsquery('english', :query) AS query), "
    "hits AS (SELECT d.id, d.title, d.content, ts_rank(d.search_vector, q.query) AS score "
    "FROM documents AS d, q WHERE d.workspace_id = :workspace_id AND d.search_vector @@ q.query "
    "ORDER BY score DESC, d.id LIMIT :limit) "
    "SELECT hits.id, hits.title, ts_headline('english', hits.title || E'\\n' || hits.content, "
    "q.query, 'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15') AS snippet, "
    "hits.score FROM hits, q ORDER BY hits.score DESC, hits.id"
)
POSTGRES_TOTAL = text(
    "SELECT count(*) FROM documents AS d "
    "WHERE d.workspace_id = :workspace_id "
    "AND d.search_vector @@ plainto_tsquery('english', :query)"
)


def create_document(
    session: Session,
    ctx: RequestContext,
    workspace_id: str,
    *,
    title: str,
    content: str,
    tags: list[str],
    cache: SearchCache[SearchResult],
) -> Document:
    get_owned(session, ctx, workspace_id)
    document = Document(
        workspace_id=workspace_id,
        title=title,
        content=content,
        tags=tags,
        test_run_id=ctx.test_run_id,
    )
    session.add(document)
    session.flush()
    audit.record(session, ctx, "document.create", "document", document.id)

    # After the commit, so that no search in between can cache an answer without the document.
    def _invalidate(_session: Session) -> None:
        cache.invalidate_workspace(workspace_id)

    event.listen(session, "after_commit", _invalidate, once=True)
    return document


def list_documents(
    session: Session, ctx: RequestContext, workspace_id: str, params: PageParams
) -> tuple[list[Document], str | None]:
    get_owned(session, ctx, workspace_id)
    stmt = (
        select(Document)
        .options(defer(Document.content))
        .where(Document.workspace_id == workspace_id)
    )
    return paginate(session, stmt, Document.created_at, Document.id, params)


def search(
    session: Session,
    ctx: RequestContext,
    workspace_id: str,
    *,
    query: str,
    limit: int,
    cache: SearchCache[SearchResult],
    telemetry: Telemetry,
) -> SearchResult:
    get_owned(session, ctx, workspace_id)
    key = (workspace_id, query, limit)
    cached = cache.get(key)
    if cached is not None:
        telemetry.cache_hits.labels("search").inc()
        return cached
    telemetry.cache_misses.labels("search").inc()
    generation = cache.generation(workspace_id)
    result = _run_search(session, workspace_id, query, limit)
    cache.put(key, result, generation)
    return result


def _run_search(session: Session, workspace_id: str, query: str, limit: int) -> SearchResult:
    terms = WORD.findall(query.lower())
    if not terms:
        return SearchResult(query=query, total=0, items=[])
    params: dict[str, Any] = {"workspace_id": workspace_id, "limit": limit}
    if session.get_bind().dialect.name == "sqlite":
        # Each term quoted, so that words like AND, NOT or NEAR are searched, not obeyed.
        params["match"] = " ".join(f'"{term}"' for term in terms)
        rows = session.execute(SQLITE_HITS, params).all()
        total = session.scalar(SQLITE_TOTAL, params) or 0
    else:
        params["query"] = query
        rows = session.execute(POSTGRES_HITS, params).all()
        total = session.scalar(POSTGRES_TOTAL, params) or 0
    # Unrounded: bm25 scores of a term found in most documents are tiny but still ordered.
    items = [
        SearchHit(document_id=row.id, title=row.title, snippet=row.snippet, score=float(row.score))
        for row in rows
    ]
    return SearchResult(query=query, total=int(total), items=items)
