"""Remove everything a load-test run created, found by the `X-Load-Test-Run` tag on its rows.

A run's rows are the rows tagged with its id, plus everything inside what it created: the
workspaces of a tagged account and the workflows, executions, cost records and documents of a
tagged workspace go too, even when a background worker wrote them without the tag. Untagged data
outside those is never touched.

The deletion goes in small batches, each its own short transaction: a run of a stress test leaves
hundreds of thousands of rows, and one transaction deleting them all held SQLite's write lock
(or PostgreSQL's row locks) for longer than the requests still running could wait, so the cleanup
timed out under the very load that made it big. A batch deletes up to `batch_rows` rows of the
first table, children first, that still holds any of the run's rows, so the counts are exact and
no foreign key is ever in the way; a batch that finds nothing means the run is gone.

Audit rows are kept: they record what accounts did, and a member could otherwise erase their own
trail by tagging their requests with a run id and waiting for its cleanup. They stay tagged with
the run's id (their mark), and the report counts them under `kept`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from platform_api.db import Database
from platform_api.errors import DatabaseBusy
from platform_api.models import (
    AuditLog,
    CostRecord,
    Document,
    Execution,
    User,
    Workflow,
    Workspace,
)

BATCH_ROWS = 500
# Parents first, as a reader thinks of a run; the deletion itself goes children first.
REPORT_ORDER = ("users", "workspaces", "workflows", "executions", "cost_records", "documents")


@dataclass
class CleanupReport:
    """What a cleanup deleted, what it kept, and whether the run is gone (`complete`)."""

    run_id: str
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPORT_ORDER, 0))
    kept: dict[str, int] = field(default_factory=dict)  # counted once the run is gone
    batches: int = 0
    retries: int = 0
    complete: bool = False

    def add(self, batch: dict[str, int]) -> None:
        self.batches += 1
        for table, count in batch.items():
            self.deleted[table] += count


def _tables(run_id: str) -> list[tuple[str, Any, ColumnElement[bool]]]:
    """(report name, model, which rows are the run's), children first."""
    users = select(User.id).where(User.test_run_id == run_id)
    workspaces = select(Workspace.id).where(
        or_(Workspace.test_run_id == run_id, Workspace.owner_id.in_(users))
    )
    workflows = select(Workflow.id).where(
        or_(Workflow.test_run_id == run_id, Workflow.workspace_id.in_(workspaces))
    )
    executions = select(Execution.id).where(
        or_(
            Execution.test_run_id == run_id,
            Execution.workspace_id.in_(workspaces),
            Execution.workflow_id.in_(workflows),
        )
    )
    return [
        (
            "cost_records",
            CostRecord,
            or_(
                CostRecord.test_run_id == run_id,
                CostRecord.workspace_id.in_(workspaces),
                CostRecord.execution_id.in_(executions),
            ),
        ),
        ("executions", Execution, Execution.id.in_(executions)),
        (
            "documents",
            Document,
            or_(Document.test_run_id == run_id, Document.workspace_id.in_(workspaces)),
        ),
        ("workflows", Workflow, Workflow.id.in_(workflows)),
        ("workspaces", Workspace, Workspace.id.in_(workspaces)),
        ("users", User, User.test_run_id == run_id),
    ]


def delete_batch(session: Session, run_id: str, *, batch_rows: int = BATCH_ROWS) -> dict[str, int]:
    """Delete up to `batch_rows` of the run's rows from one table; all zero when none are left."""
    deleted = dict.fromkeys(REPORT_ORDER, 0)
    for table, model, condition in _tables(run_id):
        chosen = select(model.id).where(condition).limit(batch_rows)
        statement = delete(model).where(model.id.in_(chosen))
        result = cast(
            CursorResult[Any],
            session.execute(statement.execution_options(synchronize_session=False)),
        )
        deleted[table] = max(result.rowcount, 0)
        if deleted[table]:
            break
    return deleted


def count_kept(session: Session, run_id: str) -> dict[str, int]:
    kept = session.scalar(select(func.count()).where(AuditLog.test_run_id == run_id))
    return {"audit_logs": int(kept or 0)}


# What a batch can fail with when the database is busy, among other causes (`is_busy` tells
# them apart); DatabaseBusy: the request path's write queue did not start the batch in time.
BUSY_ERRORS = (DatabaseBusy, OperationalError, PoolTimeoutError)


def is_busy(exc: BaseException) -> bool:
    """A failure that a later attempt can get past: the database was busy, not broken."""
    if isinstance(exc, (DatabaseBusy, PoolTimeoutError)):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def delete_test_run(
    database: Database,
    run_id: str,
    *,
    batch_rows: int = BATCH_ROWS,
    retry_for_s: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> CleanupReport:
    """Delete the run batch by batch until none of its rows are left (the command line's way; the
    admin route runs the same batches through the request path, `deps.run_in_session`). A batch
    that meets a busy database is retried, with a growing pause, until `retry_for_s` passes
    without any progress."""
    report = CleanupReport(run_id)
    last_progress = time.monotonic()
    pause_s = 0.05
    while True:
        try:
            with database.transaction() as session:
                batch = delete_batch(session, run_id, batch_rows=batch_rows)
        except (OperationalError, PoolTimeoutError) as exc:
            if not is_busy(exc) or time.monotonic() - last_progress > retry_for_s:
                raise
            report.retries += 1
            sleep(pause_s)
            pause_s = min(pause_s * 2, 2.0)
            continue
        report.add(batch)
        last_progress, pause_s = time.monotonic(), 0.05
        if not any(batch.values()):
            break
    with database.transaction(write=False) as session:
        report.kept = count_kept(session, run_id)
    report.complete = True
    return report
