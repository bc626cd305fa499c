"""Admin: system metrics, audit logs, user management, cost reports, faults and test runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
)

from platform_api.accounts.schemas import Email, Role
from platform_api.json_types import JsonInt
from platform_api.route_template import MAX_TEMPLATE_CHARS, SCHEMA_PATTERN, route_template

GroupBy = Literal["workspace", "user", "day"]
ISO_DATE_PREFIX = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_8601_only(value: object) -> object:
    # Pydantic would also read a bare number as Unix time; the schema promises date-time text.
    if isinstance(value, str) and not ISO_DATE_PREFIX.match(value):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z")
    return value


def _in_utc(value: datetime | None) -> datetime | None:
    # Stored times are UTC; a moment without an offset is taken as UTC. Converting here means a
    # moment that exists only in its own offset (0001-01-01T00:00+14:00) is a 422, not a 500.
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a date-time that exists in UTC (years 1 to 9999)") from None


Moment = Annotated[datetime | None, BeforeValidator(_iso_8601_only), AfterValidator(_in_utc)]


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
    route_pattern: Annotated[
        str | None,
        AfterValidator(route_template),
        Field(json_schema_extra={"pattern": SCHEMA_PATTERN, "maxLength": MAX_TEMPLATE_CHARS}),
    ] = None


class TestRunDeleted(BaseModel):
    """What a cleanup removed; `complete` is false when its time ran out first (call it again)."""

    run_id: str
    deleted: dict[str, int]
    kept: dict[str, int]
    complete: bool
    batches: int
    retries: int
