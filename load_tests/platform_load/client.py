"""PlatformClient: the Locust user that speaks the platform's conventions.

Every user class derives from it: it authenticates with the user's key, sends the run's
``X-Load-Test-Run`` header, names each request by its route template (so statistics stay bounded
whatever the ids) and checks every response, and it knows the few requests every user makes
(health checks, registration, a workspace).
"""

from __future__ import annotations

import random
import urllib.parse
import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

from locust import FastHttpUser
from locust.env import Environment

from platform_load.checks import PAGE_KEYS, WORKSPACE_KEYS, Check, equals, items_have, judge
from platform_load.run_settings import RunSettings, task_tags

RUN_HEADER = "X-Load-Test-Run"


class PlatformClient(FastHttpUser):
    """A FastHttpUser that speaks the platform's conventions: auth, run header, checked bodies."""

    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0
    think_time_s: tuple[float, float] = (1.0, 3.0)
    uses_admin_key: ClassVar[bool] = False  # works with the platform's admin key, never registers

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.settings = RunSettings.of(environment)
        self.api_key: str | None = None

    def wait_time(self) -> float:
        low, high = self.think_time_s
        return random.uniform(low, high) * self.settings.think_scale

    def needs_account(self) -> bool:
        """Whether any task left after tag filtering needs an authenticated account."""
        return any("health" not in tags for tags in task_tags(type(self)))

    def headers(self) -> dict[str, str]:
        headers = {RUN_HEADER: self.settings.run_id}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def call(
        self,
        method: str,
        route: str,
        *ids: str,
        params: dict[str, Any] | None = None,
        expect: int = 200,
        keys: Iterable[str] = (),
        body: Any = None,
        check: Check | None = None,
    ) -> Any:
        """Send one request to a route template (each `[id]` takes the next of `ids`).

        The request is named by the template, so statistics stay bounded whatever the ids.
        Returns the JSON body, or None after recording why the response was wrong.
        """
        with self.client.request(
            method,
            path(route, ids, params),
            name=route,
            json=body,
            headers=self.headers(),
            catch_response=True,
        ) as response:
            problem, data = judge(response, expect, tuple(keys), check)
            if problem is not None:
                response.failure(problem)
                return None
            response.success()
            return data

    def get_page(self, route: str, *ids: str, item_keys: Iterable[str] = (), **params: Any) -> Any:
        params.setdefault("limit", 20)
        check = items_have(item_keys)
        return self.call("GET", route, *ids, params=params, keys=PAGE_KEYS, check=check)

    def health(self) -> None:
        self.call("GET", "/health", check=equals("status", "ok"))

    def ready(self) -> None:
        self.call("GET", "/health/ready", check=equals("database", "ok"))

    def register(self) -> bool:
        email = f"{self.settings.run_id}-{uuid.uuid4().hex[:12]}@loadtest.example.com".lower()
        body = {"email": email, "name": f"Load test user {self.settings.run_id}"}
        keys = ("user", "api_key")
        data = self.call("POST", "/api/v1/auth/register", expect=201, body=body, keys=keys)
        if data is None:
            return False
        self.api_key = str(data["api_key"])
        return True

    def create_workspace(self) -> str | None:
        body = {"name": f"ws-{uuid.uuid4().hex[:8]}", "description": "load test workspace"}
        check = equals("name", body["name"])
        data = self.call(
            "POST", "/api/v1/workspaces", expect=201, body=body, keys=WORKSPACE_KEYS, check=check
        )
        return None if data is None else str(data["id"])


def path(route: str, ids: tuple[str, ...], params: dict[str, Any] | None) -> str:
    """The URL path of a route template with its `[id]`s filled in and the non-None params."""
    parts = route.split("[id]")
    if len(parts) != len(ids) + 1:
        raise ValueError(f"{route} needs {len(parts) - 1} ids, got {len(ids)}")
    filled = parts[0] + "".join(
        urllib.parse.quote(i, safe="") + p for i, p in zip(ids, parts[1:], strict=True)
    )
    present = {k: v for k, v in (params or {}).items() if v is not None}
    return f"{filled}?{urllib.parse.urlencode(present)}" if present else filled
