"""The execution queue in the database: leased claims, renewals, and one final state.

A claim sets `lease_owner` and `lease_expires_at`; a worker that dies simply stops renewing, and
the row becomes claimable again when the lease expires. Every later write is conditional on
`lease_owner`, so a worker that lost its lease can never write a final state or cost records:
exactly one worker finishes each execution.

PostgreSQL picks the candidate with `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait for
each other. SQLite has no row locks: the write transaction (`BEGIN IMMEDIATE`) already holds the
database's single write lock, which makes the select-then-update atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from platform_api.db import Database
from platform_api.models import CostRecord, Execution, Workflow, utcnow


@dataclass(frozen=True)
class Claim:
    execution_id: str
    owner: str
    attempts: int
    steps: list[dict[str, Any]]
    input_text: str
    workspace_id: str
    user_id: str | None
    test_run_id: str | None


@dataclass(frozen=True)
class Cost:
    model: str
    tokens: int
    cost_usd: float


@dataclass(frozen=True)
class Outcome:
    status: str
    output: dict[str, Any] | None
    step_results: list[dict[str, Any]]
    error: str | None
    costs: list[Cost]


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        Execution.status == "queued",
        and_(Execution.status == "running", Execution.lease_expires_at < now),
    )


def has_claimable(database: Database) -> bool:
    """A cheap read first, so that an idle worker never takes SQLite's write lock."""
    with database.transaction(write=False) as session:
        found = session.scalar(select(Execution.id).where(_claimable(utcnow())).limit(1))
    return found is not None


def claim(database: Database, owner: str, lease_s: float) -> Claim | None:
    with database.transaction() as session:
        now = utcnow()
        candidate = session.scalar(
            select(Execution.id)
            .where(_claimable(now))
            .order_by(Execution.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if candidate is None:
            return None
        claimed = session.execute(
            update(Execution)
            .where(Execution.id == candidate, _claimable(now))
            .values(
                status="running",
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=Execution.attempts + 1,
                started_at=func.coalesce(Execution.started_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(claimed) != 1:
            return None
        execution = session.get(Execution, candidate, populate_existing=True)
        workflow = session.get(Workflow, execution.workflow_id) if execution else None
        if execution is None or workflow is None:
            return None
        return Claim(
            execution_id=execution.id,
            owner=owner,
            attempts=execution.attempts,
            steps=list(workflow.steps),
            input_text=str((execution.input or {}).get("text", "")),
            workspace_id=execution.workspace_id,
            user_id=execution.user_id,
            test_run_id=execution.test_run_id,
        )


def renew(database: Database, claim: Claim, lease_s: float) -> bool:
    """Extend the lease; False when it was lost (expired and claimed by another worker)."""
    with database.transaction() as session:
        result = session.execute(
            update(Execution)
            .where(*_held(claim))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1


def release(database: Database, claim: Claim) -> None:
    """Give the execution back to the queue (graceful stop); it runs again from the first step."""
    with database.transaction() as session:
        session.execute(
            update(Execution)
            .where(*_held(claim))
            .values(status="queued", lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )


def finish(database: Database, claim: Claim, outcome: Outcome) -> bool:
    """Write the final state and the cost records in one transaction, only if the lease is ours."""
    with database.transaction() as session:
        result = session.execute(
            update(Execution)
            .where(*_held(claim))
            .values(
                status=outcome.status,
                output=outcome.output,
                step_results=outcome.step_results,
                error=outcome.error,
                cost_usd=round(sum(cost.cost_usd for cost in outcome.costs), 8),
                finished_at=utcnow(),
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            return False
        session.add_all(
            CostRecord(
                execution_id=claim.execution_id,
                workspace_id=claim.workspace_id,
                user_id=claim.user_id,
                model=cost.model,
                tokens=cost.tokens,
                cost_usd=cost.cost_usd,
                test_run_id=claim.test_run_id,
            )
            for cost in outcome.costs
        )
        return True


def _held(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    return (
        Execution.id == claim.execution_id,
        Execution.lease_owner == claim.owner,
        Execution.status == "running",
    )


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))
