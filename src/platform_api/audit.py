"""The audit trail: every write in the platform records who did what to which object."""

from __future__ import annotations

from sqlalchemy.orm import Session

from platform_api.context import RequestContext
from platform_api.models import AuditLog


def record(
    session: Session,
    ctx: RequestContext,
    action: str,
    target_type: str,
    target_id: str | None,
) -> None:
    session.add(
        AuditLog(
            actor_id=ctx.user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            request_id=ctx.request_id,
            test_run_id=ctx.test_run_id,
        )
    )
