"""What a service needs to know about the request it serves, without knowing HTTP."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RequestContext:
    """A read's caller is filled in (`identify`) in the route's database hop, before the service
    runs (see platform_api.deps); services only read it."""

    user_id: str | None
    role: str | None
    request_id: str | None
    test_run_id: str | None

    def identify(self, *, user_id: str, role: str) -> None:
        self.user_id = user_id
        self.role = role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
