"""Admin: system metrics, audit logs, user management, cost reports, faults and test runs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator

from platform_api.accounts.schemas import Email, Role
from platform_api.json_types import JsonInt

GroupBy = Literal["workspace", "user", "day"]
ISO_DATE_PREFIX = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_8601_only(value: object) -> object:
    # Pydantic would also read a bare number as Unix time; the schema promises date-time text.
    if isinstance(value, str) and not ISO_DATE_PREFIX.match(value):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z")
    return value


Moment = Annotated[datetime | None, BeforeValidator(_iso_8601_only)]


class Counts(BaseModel):
    users: int
    workspaces: int
    workflows: int
    executions: int
    documents: int


class QueueFigures(BaseModel):
    queued: int
    running: int


class DatabaseFigures(BaseModel):
    dialect: str
    pool_size: int
    checked_out: int
    overflow: int


class ProcessFigures(BaseModel):
    cpu_percent: float
    rss_bytes: int
    threads: int
    open_fds: int


class SystemMetrics(BaseModel):
    counts: Counts
    queue: QueueFigures
    database: DatabaseFigures
    process: ProcessFigures
    uptime_s: float


class AuditLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    actor_id: str | None
    action: str
    target_type: str
    target_id: str | None
    request_id: str | None
    test_run_id: str | None
    created_at: datetime


class AdminUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: Email
    name: str = Field(min_length=1, max_length=200)
    role: Role = "member"


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Role | None = None
    disabled: StrictBool | None = None


class CostGroup(BaseModel):
    key: str
    cost_usd: float
    tokens: int
    executions: int


class CostReport(BaseModel):
    group_by: GroupBy
    since: datetime | None
    until: datetime | None
    total_usd: float
    groups: list[CostGroup]


class FaultSettingsBody(BaseModel):
    """The body of `PUT /api/v1/admin/faults`: strict, unlike the environment-read settings."""

    model_config = ConfigDict(extra="forbid", strict=True)

    latency_ms: float = Field(0.0, ge=0, le=60_000)
    latency_jitter_ms: float = Field(0.0, ge=0, le=60_000)
    error_rate: float = Field(0.0, ge=0, le=1)
    leak_bytes_per_request: JsonInt = Field(0, ge=0, le=100 * 1024 * 1024)
    cpu_ms_per_request: float = Field(0.0, ge=0, le=10_000)
    route_pattern: str | None = Field(None, max_length=500)

    @field_validator("route_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"route_pattern is not a valid regular expression: {exc}") from exc
        return value


class TestRunDeleted(BaseModel):
    run_id: str
    deleted: dict[str, int]
