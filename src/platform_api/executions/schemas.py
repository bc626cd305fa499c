"""Executions: ExecutionCreate, ExecutionAccepted, ExecutionRead, and one step's result."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["queued", "running", "succeeded", "failed"]
MAX_INPUT_CHARS = 100_000


class ExecutionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=MAX_INPUT_CHARS)


class ExecutionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: ExecutionInput = Field(default_factory=ExecutionInput)


class ExecutionAccepted(BaseModel):
    id: str
    status: Status


class StepResult(BaseModel):
    name: str
    type: str
    status: Literal["succeeded", "failed"]
    output: str | None
    tokens: int
    cost_usd: float
    duration_ms: float


class ExecutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    workspace_id: str
    status: Status
    input: dict[str, Any]
    output: dict[str, Any] | None
    step_results: list[StepResult]
    cost_usd: float
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
