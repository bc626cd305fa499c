"""Heavy endpoints: ProjectGenerate, dataset listing and search, codebase analysis."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_api.heavy.generator import MAX_FILES

TemplateName = Literal["fastapi-service", "python-library", "cli-tool"]


class ProjectGenerate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$", description="A Python package name")
    template: TemplateName
    files: int = Field(ge=1, le=MAX_FILES)


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


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample: str | None = Field(None, min_length=1, max_length=64)
    archive_base64: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> AnalysisRequest:
        if (self.sample is None) == (self.archive_base64 is None):
            raise ValueError("give exactly one of sample and archive_base64")
        return self


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
