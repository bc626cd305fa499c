"""Heavy endpoints: ProjectGenerate, dataset listing and search, codebase analysis."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from platform_api.heavy.generator import MAX_FILES
from platform_api.json_types import JsonInt

TemplateName = Literal["fastapi-service", "python-library", "cli-tool"]


class ProjectGenerate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$", description="A Python package name")
    template: TemplateName
    files: JsonInt = Field(ge=1, le=MAX_FILES)


class DatasetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    rows: int


class DatasetList(BaseModel):
    items: list[DatasetRead]


class DatasetRowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    category: str
    value: float
    created_at: datetime


class SampleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    files: int


class SampleList(BaseModel):
    items: list[SampleRead]


BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class SampleAnalysis(BaseModel):
    """Analyse one of the samples that `GET /api/v1/analysis/samples` lists."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sample: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ArchiveAnalysis(BaseModel):
    """Analyse an uploaded zip or tar.gz archive of Python files."""

    model_config = ConfigDict(extra="forbid", strict=True)

    archive_base64: str = Field(min_length=4, pattern=BASE64_PATTERN)


# Exactly one source: a body with both fields, or neither, matches no member and is a 422.
AnalysisRequest = SampleAnalysis | ArchiveAnalysis


class FunctionRead(BaseModel):
    name: str
    file: str
    lines: int
    complexity: int


class AnalysisRead(BaseModel):
    files: int
    lines: int
    functions: int
    classes: int
    average_complexity: float
    max_complexity: int
    syntax_errors: int
    largest_functions: list[FunctionRead]
    cached_files: int = Field(
        description="How many of `files` came from the cache of file figures "
        "(PLATFORM_ANALYSIS_CACHE_FILES), not parsed again"
    )
