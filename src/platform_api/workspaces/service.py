"""Workspaces belong to one account; anyone else gets "not found", so ids do not leak."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from platform_api import audit
from platform_api.context import RequestContext
from platform_api.errors import NotFound
from platform_api.models import Workspace
from platform_api.pagination import KeysetQuery, PageParams

_WORKSPACES = Workspace.__table__
# The busiest read, in Core: WorkspaceRead's columns of the owner's workspaces.
_OWNED = KeysetQuery.of(
    select(
        *(
            _WORKSPACES.c[name]
            for name in ("id", "name", "description", "owner_id", "created_at", "updated_at")
        )
    ).where(_WORKSPACES.c.owner_id == bindparam("owner_id")),
    _WORKSPACES.c.created_at,
    _WORKSPACES.c.id,
)


def get_owned(session: Session, ctx: RequestContext, workspace_id: str) -> Workspace:
    """The caller's workspace, or NotFound: the one check every nested resource goes through."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None or workspace.owner_id != ctx.user_id:
        raise NotFound("Workspace not found")
    return workspace


def list_workspaces(
    session: Session, ctx: RequestContext, params: PageParams
) -> tuple[Sequence[Row[Any]], str | None]:
    """The caller's workspaces, newest first: rows with the columns of `WorkspaceRead`."""
    return _OWNED.page(session, params, {"owner_id": ctx.user_id})


def create_workspace(
    session: Session, ctx: RequestContext, *, name: str, description: str
) -> Workspace:
    assert ctx.user_id is not None
    workspace = Workspace(
        owner_id=ctx.user_id, name=name, description=description, test_run_id=ctx.test_run_id
    )
    session.add(workspace)
    session.flush()
    audit.record(session, ctx, "workspace.create", "workspace", workspace.id)
    return workspace


def update_workspace(
    session: Session,
    ctx: RequestContext,
    workspace_id: str,
    *,
    name: str | None,
    description: str | None,
) -> Workspace:
    workspace = get_owned(session, ctx, workspace_id)
    if name is not None:
        workspace.name = name
    if description is not None:
        workspace.description = description
    session.flush()
    audit.record(session, ctx, "workspace.update", "workspace", workspace.id)
    return workspace


def delete_workspace(session: Session, ctx: RequestContext, workspace_id: str) -> None:
    workspace = get_owned(session, ctx, workspace_id)
    session.delete(workspace)
    audit.record(session, ctx, "workspace.delete", "workspace", workspace_id)
