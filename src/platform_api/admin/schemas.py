"""Admin: system metrics, audit logs, user management, cost reports, faults and test runs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from platform_api.accounts.schemas import Role

GroupBy = Literal["workspace", "user", "day"]


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
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role = "member"


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None


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

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0.0, ge=0, le=60_000)
    latency_jitter_ms: float = Field(0.0, ge=0, le=60_000)
    error_rate: float = Field(0.0, ge=0, le=1)
    leak_bytes_per_request: int = Field(0, ge=0, le=100 * 1024 * 1024)
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
