"""AdminUser: administrative load with the platform's admin key.

Dashboards (system metrics), audit logs, user management (creating members and disabling them)
and cost reports. 10% of the users (weight 1 of 10).
"""

from __future__ import annotations

import random
import uuid

from locust import tag, task

from platform_load.checks import USER_KEYS, equals
from platform_load.client import PlatformClient


class AdminUser(PlatformClient):
    """Administrative load: dashboards, audits, user management and cost reports."""

    weight = 1
    think_time_s = (2.0, 5.0)
    uses_admin_key = True

    def on_start(self) -> None:
        self.created_user_ids: list[str] = []
        if self.needs_account():
            self.api_key = self.settings.admin_key
            self.call("GET", "/api/v1/auth/me", keys=USER_KEYS, check=equals("role", "admin"))

    @tag("health", "read")
    @task(1)
    def check_health(self) -> None:
        self.health()

    @tag("admin", "read")
    @task(4)
    def system_metrics(self) -> None:
        keys = ("counts", "queue", "database", "process", "uptime_s")
        self.call("GET", "/api/v1/admin/metrics", keys=keys)

    @tag("admin", "read")
    @task(3)
    def audit_logs(self) -> None:
        action = random.choice([None, "workspace.create", "workflow.create"])
        keys = ("id", "actor_id", "action", "target_type", "created_at")
        self.get_page("/api/v1/admin/audit-logs", item_keys=keys, limit=50, action=action)

    @tag("admin", "read")
    @task(2)
    def list_users(self) -> None:
        self.get_page("/api/v1/admin/users", item_keys=USER_KEYS, limit=50)

    @tag("admin", "write")
    @task(1)
    def create_user(self) -> None:
        email = f"{self.settings.run_id}-{uuid.uuid4().hex[:12]}@loadtest.example.com".lower()
        body = {"email": email, "name": "Load test member", "role": "member"}
        keys = ("user", "api_key")
        data = self.call("POST", "/api/v1/admin/users", expect=201, body=body, keys=keys)
        if data is not None:
            self.created_user_ids.append(str(data["user"]["id"]))

    @tag("admin", "write")
    @task(1)
    def disable_user(self) -> None:
        if not self.created_user_ids:
            self.create_user()
            return
        self.call(
            "PATCH",
            "/api/v1/admin/users/[id]",
            self.created_user_ids.pop(),
            body={"disabled": True},
            keys=USER_KEYS,
            check=equals("disabled", True),
        )

    @tag("admin", "read")
    @task(2)
    def cost_report(self) -> None:
        group_by = random.choice(["workspace", "user", "day"])
        self.call(
            "GET",
            "/api/v1/admin/costs",
            params={"group_by": group_by},
            keys=("group_by", "total_usd", "groups"),
            check=equals("group_by", group_by),
        )
