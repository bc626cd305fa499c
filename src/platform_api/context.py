"""What a service needs to know about the request it serves, without knowing HTTP."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    user_id: str | None
    role: str | None
    request_id: str | None
    test_run_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
