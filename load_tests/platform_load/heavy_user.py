"""HeavyUser: resource-intensive load, each request bounded CPU work on the platform.

Large project generation (a zip of up to 300 files), paged searches of the big dataset and
codebase analysis of the seeded samples. 10% of the users (weight 1 of 10).
"""

from __future__ import annotations

import random
import uuid

from locust import tag, task

from platform_load.checks import items_have
from platform_load.client import PlatformClient, path


class HeavyUser(PlatformClient):
    """Resource-intensive load: big scaffolds, deep dataset searches, codebase analysis."""

    weight = 1
    think_time_s = (3.0, 8.0)
    templates = ("fastapi-service", "python-library", "cli-tool")

    def on_start(self) -> None:
        self.workspace_id: str | None = None
        self.dataset_id: str | None = None
        self.samples: list[str] = []
        self.categories: list[str] = []
        self.ready_for_work()

    def ready_for_work(self) -> bool:
        if self.api_key or not self.needs_account():
            return True
        if not self.settings.writes(type(self)):
            self.api_key = self.settings.reader_key()
        elif not self.register():
            return False
        else:
            self.workspace_id = self.create_workspace()
        self.discover()
        return True

    def discover(self) -> None:
        """Find the seeded dataset and the analysis samples."""
        check = items_have(("id", "name", "rows"))
        datasets = self.call("GET", "/api/v1/datasets", keys=("items",), check=check)
        if datasets is not None:
            by_name = {item["name"]: str(item["id"]) for item in datasets["items"]}
            self.dataset_id = by_name.get("default") or next(iter(by_name.values()), None)
        check = items_have(("name", "files"))
        samples = self.call("GET", "/api/v1/analysis/samples", keys=("items",), check=check)
        if samples is not None:
            self.samples = [str(item["name"]) for item in samples["items"]]

    @tag("health", "read")
    @task(1)
    def check_health(self) -> None:
        self.health()

    @tag("heavy", "write")
    @task(2)
    def generate_project(self) -> None:
        if not self.ready_for_work():
            return
        if self.workspace_id is None:
            self.workspace_id = self.create_workspace()
            if self.workspace_id is None:
                return
        body = {
            "name": f"svc_{uuid.uuid4().hex[:6]}",
            "template": random.choice(self.templates),
            "files": random.choice([100, 200, 300]),
        }
        route = "/api/v1/workspaces/[id]/projects/generate"
        with self.client.post(
            path(route, (self.workspace_id,), None),
            name=route,
            json=body,
            headers=self.headers(),
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"expected HTTP 200, got {response.status_code}")
            elif not (response.content or b"").startswith(b"PK\x03\x04"):
                response.failure("response body is not a zip archive")
            else:
                response.success()

    @tag("heavy", "search", "read")
    @task(3)
    def search_dataset(self) -> None:
        """Page through a filtered search of the big dataset, as an export would."""
        if not self.ready_for_work() or self.dataset_id is None:
            return
        low = random.randint(0, 900)
        filters = {
            "category": random.choice(self.categories) if self.categories else None,
            "min_value": low,
            "max_value": low + 100,
            "limit": 100,
        }
        cursor: str | None = None
        for _page in range(3):
            page = self.get_page(
                "/api/v1/datasets/[id]/search",
                self.dataset_id,
                item_keys=("id", "name", "category", "value"),
                cursor=cursor,
                **filters,
            )
            if page is None:
                return
            if not self.categories:
                self.categories = sorted({str(item["category"]) for item in page["items"]})
            cursor = page["next_cursor"]
            if not cursor:
                return

    @tag("heavy", "write")
    @task(2)
    def analyze_codebase(self) -> None:
        if not self.ready_for_work() or not self.samples:
            return
        preferred = [name for name in self.samples if name == "platform-medium"]
        self.call(
            "POST",
            "/api/v1/analysis/codebase",
            body={"sample": random.choice(preferred * 3 + self.samples)},
            keys=("files", "lines", "functions", "classes", "largest_functions"),
        )
