"""Workflows: WorkflowCreate, WorkflowUpdate, WorkflowRead, and the typed steps they are made of.

Steps are validated on create and update, so the worker only ever runs steps it knows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_STEPS = 20
MAX_SLEEP_S = 5.0


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class TransformStep(_Step):
    type: Literal["transform"]
    operation: Literal["uppercase", "lowercase", "reverse", "sha256", "word_count"]


class LlmStep(_Step):
    """A simulated model call: tokens are counted, priced and paid in CPU, never sent anywhere."""

    type: Literal["llm"]
    model: Literal["small", "medium", "large"]
    prompt: str = Field(min_length=1, max_length=20_000)
    max_tokens: int = Field(ge=1, le=4096)

    @field_validator("max_tokens", mode="before")
    @classmethod
    def _a_number(cls, value: object) -> object:
        # JSON's 64.0 is an integer, but `true` and "64" are not token budgets.
        if isinstance(value, bool | str):
            raise ValueError("max_tokens must be an integer")
        return value


class SleepStep(_Step):
    type: Literal["sleep"]
    seconds: float = Field(ge=0, le=MAX_SLEEP_S, strict=True)  # no `false` seconds


class FailStep(_Step):
    """Always fails, so that clients can exercise the failed path on purpose."""

    type: Literal["fail"]
    message: str = Field("Step failed on purpose", max_length=500)


Step = Annotated[TransformStep | LlmStep | SleepStep | FailStep, Field(discriminator="type")]
Steps = Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]


class WorkflowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    steps: Steps


class WorkflowUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    steps: Steps | None = None


class WorkflowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workspace_id: str
    name: str
    description: str
    steps: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


def dump_steps(steps: list[Step]) -> list[dict[str, Any]]:
    return [step.model_dump(mode="json") for step in steps]
