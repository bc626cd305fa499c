"""PlatformUser: normal load, a member working in their own workspace.

Registers an account and creates a workspace with a workflow and a document, then lists and reads
them, creates more, runs executions and follows each to its final state, and searches the
knowledge base. 80% of the users (weight 8 of 10).
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import gevent
from locust import tag, task

from platform_load.checks import (
    DOCUMENT_KEYS,
    EXECUTION_KEYS,
    WORKFLOW_KEYS,
    WORKSPACE_KEYS,
    Check,
    equals,
)
from platform_load.client import PlatformClient
from platform_load.vocabulary import words

EXECUTION_FINAL = frozenset({"succeeded", "failed"})
EXECUTION_MAX_POLLS = 60
EXECUTION_MAX_WAIT_S = 30.0


class PlatformUser(PlatformClient):
    """Normal load: a member working in their own workspace."""

    weight = 8
    think_time_s = (0.5, 2.0)

    def on_start(self) -> None:
        self.workspace_id: str | None = None
        self.workflow_ids: list[str] = []
        self.ready_for_work()

    def ready_for_work(self) -> bool:
        """Set up the account and workspace once; retried by later tasks if it failed."""
        if self.api_key or not self.needs_account():
            return True
        if not self.settings.writes(type(self)):
            self.api_key = self.settings.reader_key()
            return True
        if not self.register():
            return False
        self.workspace_id = self.create_workspace()
        if self.workspace_id is not None:
            self.new_workflow()
            self.new_document()
        return True

    def workspace(self) -> str | None:
        """The workspace to work in; without one (read-only runs), list them to find one."""
        if not self.ready_for_work():
            return None
        if self.workspace_id is None:
            self.list_workspaces()
        return self.workspace_id

    @tag("health", "read")
    @task(2)
    def check_health(self) -> None:
        self.health()

    @tag("health", "read")
    @task(1)
    def check_ready(self) -> None:
        self.ready()

    @tag("read")
    @task(4)
    def list_workspaces(self) -> None:
        if not self.ready_for_work():
            return
        page = self.get_page("/api/v1/workspaces", item_keys=WORKSPACE_KEYS)
        if page and page["items"] and self.workspace_id is None:
            self.workspace_id = str(page["items"][0]["id"])

    @tag("read")
    @task(3)
    def get_workspace(self) -> None:
        if (ws := self.workspace()) is not None:
            check = equals("id", ws)
            self.call("GET", "/api/v1/workspaces/[id]", ws, keys=WORKSPACE_KEYS, check=check)

    @tag("write")
    @task(1)
    def create_another_workspace(self) -> None:
        if self.ready_for_work():
            self.create_workspace()

    @tag("read")
    @task(3)
    def list_workflows(self) -> None:
        if (ws := self.workspace()) is not None:
            route = "/api/v1/workspaces/[id]/workflows"
            page = self.get_page(route, ws, item_keys=WORKFLOW_KEYS)
            if page and not self.workflow_ids:
                self.workflow_ids = [str(item["id"]) for item in page["items"]][:10]

    @tag("write")
    @task(2)
    def create_workflow(self) -> None:
        if self.workspace() is not None:
            self.new_workflow()

    def new_workflow(self) -> None:
        ws = self.workspace_id
        if ws is None:
            return
        llm = {
            "type": "llm",
            "name": "summarise",
            "model": random.choice(["small", "medium"]),
            "prompt": f"Summarise: {words(12)}",
            "max_tokens": 64,
        }
        steps = [
            {"type": "transform", "name": "shout", "operation": "uppercase"},
            llm,
            {"type": "transform", "name": "count", "operation": "word_count"},
        ]
        body = {"name": f"wf-{uuid.uuid4().hex[:8]}", "description": "load test", "steps": steps}
        data = self.call(
            "POST",
            "/api/v1/workspaces/[id]/workflows",
            ws,
            expect=201,
            body=body,
            keys=WORKFLOW_KEYS,
            check=equals("workspace_id", ws),
        )
        if data is not None:
            self.workflow_ids = [*self.workflow_ids[-9:], str(data["id"])]

    @tag("write", "executions")
    @task(2)
    def run_execution(self) -> None:
        """Trigger an execution and follow it to its final state, like a client waiting on it."""
        if self.workspace() is None or not self.workflow_ids:
            return
        data = self.call(
            "POST",
            "/api/v1/workflows/[id]/executions",
            random.choice(self.workflow_ids),
            expect=202,
            body={"input": {"text": words(20)}},
            keys=("id", "status"),
            check=equals("status", "queued"),
        )
        if data is not None:
            self.follow_execution(str(data["id"]))

    def follow_execution(self, execution_id: str) -> None:
        started = time.monotonic()
        delay_s = 0.1
        for poll in range(1, EXECUTION_MAX_POLLS + 1):
            elapsed_s = time.monotonic() - started
            last = poll == EXECUTION_MAX_POLLS or elapsed_s + delay_s >= EXECUTION_MAX_WAIT_S
            check = execution_check(execution_id, last)
            route = "/api/v1/executions/[id]"
            data = self.call("GET", route, execution_id, keys=EXECUTION_KEYS, check=check)
            if data is None or data["status"] in EXECUTION_FINAL:
                return
            gevent.sleep(delay_s)
            delay_s = min(delay_s * 1.5, 1.0)

    @tag("read", "executions")
    @task(2)
    def list_executions(self) -> None:
        if (ws := self.workspace()) is not None:
            self.get_page("/api/v1/workspaces/[id]/executions", ws, item_keys=EXECUTION_KEYS)

    @tag("write")
    @task(2)
    def create_document(self) -> None:
        if self.workspace() is not None:
            self.new_document()

    def new_document(self) -> None:
        ws = self.workspace_id
        if ws is None:
            return
        body = {"title": f"Runbook: {words(3)}", "content": words(80), "tags": ["load-test"]}
        self.call(
            "POST",
            "/api/v1/workspaces/[id]/documents",
            ws,
            expect=201,
            body=body,
            keys=DOCUMENT_KEYS,
            check=equals("title", body["title"]),
        )

    @tag("read")
    @task(1)
    def list_documents(self) -> None:
        if (ws := self.workspace()) is not None:
            self.get_page("/api/v1/workspaces/[id]/documents", ws, item_keys=("id", "title"))

    @tag("read", "search")
    @task(4)
    def search_knowledge(self) -> None:
        if (ws := self.workspace()) is not None:
            query = words(random.randint(1, 2))
            self.call(
                "GET",
                "/api/v1/workspaces/[id]/search",
                ws,
                params={"q": query, "limit": 10},
                keys=("query", "total", "items"),
                check=search_check(query),
            )


def execution_check(execution_id: str, last: bool) -> Check:
    """The execution asked for, not failed, and, on the last poll, finished."""

    def check(data: Any) -> str | None:
        if data["id"] != execution_id:
            return f"asked for execution {execution_id}, got {data['id']}"
        if data["status"] == "failed":
            return f"execution failed: {data.get('error')}"
        if last and data["status"] not in EXECUTION_FINAL:
            return f"execution still {data['status']} after {EXECUTION_MAX_WAIT_S:.0f} s"
        return None

    return check


def search_check(query: str) -> Check:
    """An answer to this query, with a total covering its hits, ranked best first."""

    def check(data: Any) -> str | None:
        if data["query"] != query:
            return f"search answered query {data['query']!r}, not {query!r}"
        if data["total"] < len(data["items"]):
            return f"total {data['total']} is below the {len(data['items'])} hits returned"
        scores = [item["score"] for item in data["items"]]
        if scores != sorted(scores, reverse=True):
            return f"search results are not best first: scores {scores}"
        return None

    return check
