"""Liveness, readiness and the Prometheus metrics endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from platform_api.deps import DbSession, run_in_session
from platform_api.health import service
from platform_api.health.schemas import Liveness, Readiness
from platform_api.telemetry import Telemetry

router = APIRouter(tags=["health"])


@router.get("/health")
async def liveness() -> Liveness:
    """The process is up; no database access, so it stays cheap under any load."""
    return Liveness(status="ok")


@router.get("/health/ready", responses={503: {"description": "The database is unreachable"}})
async def readiness(session: DbSession) -> Readiness:
    """A round trip on the database path that every route takes (a read session's hop)."""
    await run_in_session(session, service.check_database, session)
    return Readiness(status="ok", database="ok")


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    telemetry: Telemetry = request.app.state.telemetry
    return Response(telemetry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
