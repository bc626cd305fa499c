"""Remove everything a load-test run created, found by the `X-Load-Test-Run` tag on its rows.

A run's rows are the rows tagged with its id, plus everything inside what it created: the
workspaces of a tagged account and the workflows, executions, cost records and documents of a
tagged workspace go too, even when a background worker wrote them without the tag. Children are
deleted before parents, each with one statement, so the counts are exact and no cascade is left
to chance. Untagged data outside those is never touched.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, or_, select
from sqlalchemy.orm import Session

from platform_api.models import (
    AuditLog,
    CostRecord,
    Document,
    Execution,
    User,
    Workflow,
    Workspace,
)

# Parents first, as a reader thinks of a run; the deletion itself goes children first.
REPORT_ORDER = (
    "users",
    "workspaces",
    "workflows",
    "executions",
    "cost_records",
    "documents",
    "audit_logs",
)


def delete_test_run(session: Session, run_id: str) -> dict[str, int]:
    """Delete the run's rows in this session's transaction; returns the count per table."""
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
    statements: list[tuple[str, Delete]] = [
        (
            "cost_records",
            delete(CostRecord).where(
                or_(
                    CostRecord.test_run_id == run_id,
                    CostRecord.workspace_id.in_(workspaces),
                    CostRecord.execution_id.in_(executions),
                )
            ),
        ),
        ("executions", delete(Execution).where(Execution.id.in_(executions))),
        (
            "documents",
            delete(Document).where(
                or_(Document.test_run_id == run_id, Document.workspace_id.in_(workspaces))
            ),
        ),
        ("workflows", delete(Workflow).where(Workflow.id.in_(workflows))),
        ("workspaces", delete(Workspace).where(Workspace.id.in_(workspaces))),
        ("users", delete(User).where(User.test_run_id == run_id)),
        ("audit_logs", delete(AuditLog).where(AuditLog.test_run_id == run_id)),
    ]
    deleted: dict[str, int] = {}
    for table, statement in statements:
        result = cast(
            CursorResult[Any],
            session.execute(statement.execution_options(synchronize_session=False)),
        )
        deleted[table] = max(result.rowcount, 0)
    return {table: deleted[table] for table in REPORT_ORDER}
