"""Knowledge base: DocumentCreate, DocumentRead, DocumentSummary and the search answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_CONTENT_CHARS = 1_000_000
Tag = Annotated[str, Field(min_length=1, max_length=50)]


class DocumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: str = Field(min_length=1, max_length=500)
    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class DocumentSummary(BaseModel):
    """A document in a listing: everything but its content."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    workspace_id: str
    title: str
    tags: list[str]
    created_at: datetime


class DocumentRead(DocumentSummary):
    content: str


class SearchHit(BaseModel):
    document_id: str
    title: str
    snippet: str
    score: float


class SearchResult(BaseModel):
    query: str
    total: int
    items: list[SearchHit]
