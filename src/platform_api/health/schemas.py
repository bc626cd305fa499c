"""Health answers."""

from __future__ import annotations

from pydantic import BaseModel


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
