"""Locust suite for the platform: three kinds of users in a realistic mix.

Why it exists: load_tests/README.md promises that ``locust -f locustfile.py --host=...`` puts the
platform under the load of real users, and loadlab runs this same file (with its own plugin) to
measure and judge it. Every simulated user registers its own account and works in its own
workspace; the admin uses the platform's admin key. Every request is named by its route template,
and every response is checked for what it must contain, so a 200 with a wrong body is a failure.

User classes (weights 8:1:1, so 80% of users are PlatformUser):

- ``PlatformUser``: health checks, workspaces, workflows, executions followed to their final
  state, documents and knowledge-base search.
- ``AdminUser``: system metrics, audit logs, user management, cost reports.
- ``HeavyUser``: large project generation, paged searches of the 1,000,000-row dataset,
  codebase analysis.

Tags: ``health``, ``read``, ``write``, ``search``, ``executions``, ``admin``, ``heavy``. Every
request that is not a GET belongs to a task tagged ``write``, and a user registers its account
(a POST) only when a ``write`` task of its class is selected, so ``--exclude-tags write`` sends
GET requests only and ``--tags health`` sends health checks only. A user with no ``write`` task
selected reads with an existing key instead (``PLATFORM_API_KEY``, else the admin key).

Configuration (environment variable, or the Locust option next to it):

- ``PLATFORM_ADMIN_API_KEY`` / ``--admin-api-key``: the platform's admin key. Needed by
  AdminUser and by the cleanup; a run that needs it and lacks it stops before starting.
- ``PLATFORM_API_KEY`` / ``--api-key``: an existing account for runs that exclude ``write``.
- ``LOAD_TEST_RUN_ID`` / ``--load-test-run-id``: sent as ``X-Load-Test-Run`` on every request,
  so the platform tags every row the run creates. Generated (``lt-<12 hex>``) when absent.
- ``LOAD_TEST_CLEANUP=0`` / ``--no-cleanup``: keep the run's data. By default, when the test
  stops, the master (or the single process) deletes it with
  ``DELETE /api/v1/admin/test-runs/{run_id}``.
- ``LOAD_TEST_THINK_SCALE`` / ``--think-time-scale``: multiplies every think time (default 1;
  0 sends requests back to back).

Everything else is Locust's own: ``--host``, ``--users``, ``--spawn-rate``, ``--run-time``,
``--headless``, ``--tags``, ``--exclude-tags``, ``--csv``, ``--html``, user class names.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import gevent
from locust import FastHttpUser, events, tag, task
from locust.env import Environment
from locust.rpc import Message
from locust.runners import MasterRunner, WorkerRunner

logger = logging.getLogger("load_tests")

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
RUN_HEADER = "X-Load-Test-Run"
EXECUTION_FINAL = frozenset({"succeeded", "failed"})
EXECUTION_MAX_POLLS = 60
EXECUTION_MAX_WAIT_S = 30.0
CLEANUP_TIMEOUT_S = 120.0
CLEANUP_PASSES = 5
CLEANUP_SETTLE_S = 0.5
WORKER_STOP_TIMEOUT_S = 30.0
VOCABULARY = (
    "latency throughput database workflow pipeline cache index queue tenant scaling replica backup"
    " deploy rollback incident budget token model prompt invoice schema migration search ranking"
    " cluster gateway secret audit compliance report"
)
PAGE_KEYS = ("items", "next_cursor")
WORKSPACE_KEYS = ("id", "name", "description", "owner_id", "created_at", "updated_at")
WORKFLOW_KEYS = ("id", "workspace_id", "name", "steps", "created_at", "updated_at")
EXECUTION_KEYS = ("id", "workflow_id", "workspace_id", "status", "step_results", "cost_usd")
DOCUMENT_KEYS = ("id", "title", "tags")
USER_KEYS = ("id", "email", "name", "role", "disabled", "created_at")


# --- run settings -------------------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument(
        "--load-test-run-id",
        env_var="LOAD_TEST_RUN_ID",
        default="",
        help="Id sent as X-Load-Test-Run on every request (default: generated)",
    )
    parser.add_argument(
        "--admin-api-key",
        env_var="PLATFORM_ADMIN_API_KEY",
        default="",
        is_secret=True,
        help="The platform's admin key, for AdminUser and the cleanup",
    )
    parser.add_argument(
        "--api-key",
        env_var="PLATFORM_API_KEY",
        default="",
        is_secret=True,
        help="An existing account's key, for runs that exclude the write tag",
    )
    parser.add_argument(
        "--no-cleanup",
        action="store_true",
        default=os.environ.get("LOAD_TEST_CLEANUP", "1").strip().lower() in {"0", "false", "no"},
        help="Keep the run's data when the test stops (env LOAD_TEST_CLEANUP=0)",
    )
    parser.add_argument(
        "--think-time-scale",
        env_var="LOAD_TEST_THINK_SCALE",
        type=float,
        default=1.0,
        help="Multiplies every think time (0: no think time)",
    )


@dataclass(frozen=True)
class RunSettings:
    """What this run needs beyond Locust's own options, read from the parsed options."""

    run_id: str
    admin_key: str
    api_key: str
    cleanup: bool
    think_scale: float
    tags: frozenset[str] | None
    exclude_tags: frozenset[str] | None

    @classmethod
    def of(cls, environment: Environment) -> RunSettings:
        options = environment.parsed_options
        tags = environment.tags if environment.tags is not None else _option(options, "tags")
        exclude = environment.exclude_tags
        if exclude is None:
            exclude = _option(options, "exclude_tags")
        return cls(
            run_id=str(_option(options, "load_test_run_id") or ""),
            admin_key=str(_option(options, "admin_api_key") or ""),
            api_key=str(_option(options, "api_key") or ""),
            cleanup=not _option(options, "no_cleanup"),
            think_scale=float(_option(options, "think_time_scale", 1.0)),
            tags=frozenset(tags) if tags else None,
            exclude_tags=frozenset(exclude) if exclude else None,
        )

    def allows(self, task_tags: Collection[str]) -> bool:
        """Whether a task with these tags survives --tags/--exclude-tags (Locust's rule)."""
        if self.tags is not None and not self.tags.intersection(task_tags):
            return False
        return self.exclude_tags is None or not self.exclude_tags.intersection(task_tags)

    def writes(self, user_class: type) -> bool:
        """Whether a selected task of this class changes state (and so may register, create)."""
        return any(self.allows(t) and "write" in t for t in _task_tags(user_class))

    def needs_account(self, user_class: type) -> bool:
        """Whether a selected task of this class needs an account (all but health checks)."""
        return any(self.allows(t) and "health" not in t for t in _task_tags(user_class))

    def problems(self, user_classes: Collection[type]) -> list[str]:
        """Everything that would make this run fail for want of configuration."""
        found = []
        empty = [c.__name__ for c in user_classes if not any(map(self.allows, _task_tags(c)))]
        if empty:
            found.append(
                f"the tags leave {', '.join(empty)} with no task: name the user classes to run "
                "before the options, e.g. locust -f locustfile.py AdminUser --tags admin"
            )
        if not RUN_ID_PATTERN.match(self.run_id):
            found.append(f"LOAD_TEST_RUN_ID {self.run_id!r} is invalid: use 1-64 [A-Za-z0-9_.-]")
        if self.think_scale < 0:
            found.append("LOAD_TEST_THINK_SCALE must be 0 or more")
        classes = [c for c in user_classes if self.needs_account(c)]
        readers = [c for c in classes if not self.writes(c) and not issubclass(c, AdminUser)]
        if not self.admin_key and any(issubclass(c, AdminUser) for c in classes):
            found.append("AdminUser needs the platform's admin key: set PLATFORM_ADMIN_API_KEY")
        elif not self.admin_key and self.cleanup and any(map(self.writes, user_classes)):
            found.append(
                "the cleanup of the run's data needs the platform's admin key: "
                "set PLATFORM_ADMIN_API_KEY, or pass --no-cleanup (LOAD_TEST_CLEANUP=0)"
            )
        if readers and not (self.api_key or self.admin_key):
            found.append(
                "a run without the write tag cannot register accounts: "
                "set PLATFORM_API_KEY (an existing account) or PLATFORM_ADMIN_API_KEY"
            )
        return found


def _option(options: Any, name: str, default: Any = None) -> Any:
    return getattr(options, name, default) if options is not None else default


def _task_tags(user_class: type) -> Iterable[frozenset[str]]:
    for candidate in getattr(user_class, "tasks", ()):
        yield frozenset(getattr(candidate, "locust_tag_set", ()))


@events.init.add_listener
def _check_settings(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master checks; its options reach the workers with each spawn message
    options = environment.parsed_options
    if options is not None and not getattr(options, "load_test_run_id", ""):
        options.load_test_run_id = f"lt-{uuid.uuid4().hex[:12]}"
    settings = RunSettings.of(environment)
    problems = settings.problems(environment.user_classes)
    if problems:
        sys.stderr.write(f"locustfile.py: {'; '.join(problems)}\n")
        sys.exit(2)
    logger.info("load test run id: %s", settings.run_id)


# --- cleanup ------------------------------------------------------------------------------------


@events.test_stop.add_listener
def _clean_up(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return  # once per run: the master (or the single process) cleans up
    settings = RunSettings.of(environment)
    if not any(map(settings.writes, environment.user_classes)):
        return  # nothing was created
    if not settings.cleanup:
        logger.info("cleanup skipped: data of test run %s kept", settings.run_id)
        return
    if isinstance(runner, MasterRunner):
        _stop_workers(runner)
    base_url = (environment.host or "").rstrip("/")
    deleted = _delete_test_run(base_url, settings)
    if deleted is not None:
        logger.info("cleanup of test run %s: deleted %s", settings.run_id, deleted)


def _stop_workers(runner: MasterRunner) -> None:
    """Stop the workers' users before deleting what they work on.

    On quit (--run-time, SIGTERM) the master fires test_stop before it tells the workers anything,
    so without this their users would still be sending requests into the data being deleted.
    """
    for client in list(runner.clients.all):
        runner.server.send_to_client(Message("stop", None, client.id))
    deadline = time.monotonic() + WORKER_STOP_TIMEOUT_S
    while runner.user_count and time.monotonic() < deadline:
        gevent.sleep(0.1)


def _delete_test_run(base_url: str, settings: RunSettings) -> dict[str, int] | None:
    """Delete the run's data until a pass finds nothing left, or None after logging why not.

    Requests that were in flight when the users stopped may still create rows on the server
    after the first pass: a second pass a moment later catches them.
    """
    url = f"{base_url}/api/v1/admin/test-runs/{settings.run_id}"
    request = urllib.request.Request(
        url, method="DELETE", headers={"Authorization": f"Bearer {settings.admin_key}"}
    )
    total: Counter[str] = Counter()
    for attempt in range(CLEANUP_PASSES):
        if attempt:
            gevent.sleep(CLEANUP_SETTLE_S)
        try:
            with urllib.request.urlopen(request, timeout=CLEANUP_TIMEOUT_S) as response:
                deleted = json.loads(response.read())["deleted"]
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            logger.error(
                "cleanup of test run %s failed (%s); delete its data with: curl -X DELETE "
                '-H "Authorization: Bearer $PLATFORM_ADMIN_API_KEY" %s',
                settings.run_id,
                exc,
                url,
            )
            return None
        total.update(deleted)
        if attempt and not any(deleted.values()):
            break
    return dict(total)


# --- requests and checks ------------------------------------------------------------------------

Check = Callable[[Any], "str | None"]


class PlatformClient(FastHttpUser):
    """A FastHttpUser that speaks the platform's conventions: auth, run header, checked bodies."""

    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0
    think_time_s: tuple[float, float] = (1.0, 3.0)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.settings = RunSettings.of(environment)
        self.api_key: str | None = None

    def wait_time(self) -> float:
        low, high = self.think_time_s
        return random.uniform(low, high) * self.settings.think_scale

    def needs_account(self) -> bool:
        """Whether any task left after tag filtering needs an authenticated account."""
        return any("health" not in tags for tags in _task_tags(type(self)))

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
            _path(route, ids, params),
            name=route,
            json=body,
            headers=self.headers(),
            catch_response=True,
        ) as response:
            problem, data = _judge(response, expect, tuple(keys), check)
            if problem is not None:
                response.failure(problem)
                return None
            response.success()
            return data

    def get_page(self, route: str, *ids: str, item_keys: Iterable[str] = (), **params: Any) -> Any:
        params.setdefault("limit", 20)
        check = _items_have(item_keys)
        return self.call("GET", route, *ids, params=params, keys=PAGE_KEYS, check=check)

    def health(self) -> None:
        self.call("GET", "/health", check=_equals("status", "ok"))

    def ready(self) -> None:
        self.call("GET", "/health/ready", check=_equals("database", "ok"))

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
        check = _equals("name", body["name"])
        data = self.call(
            "POST", "/api/v1/workspaces", expect=201, body=body, keys=WORKSPACE_KEYS, check=check
        )
        return None if data is None else str(data["id"])


def _path(route: str, ids: tuple[str, ...], params: dict[str, Any] | None) -> str:
    parts = route.split("[id]")
    if len(parts) != len(ids) + 1:
        raise ValueError(f"{route} needs {len(parts) - 1} ids, got {len(ids)}")
    path = parts[0] + "".join(
        urllib.parse.quote(i, safe="") + p for i, p in zip(ids, parts[1:], strict=True)
    )
    present = {k: v for k, v in (params or {}).items() if v is not None}
    return f"{path}?{urllib.parse.urlencode(present)}" if present else path


def _judge(
    response: Any, expect: int, keys: tuple[str, ...], check: Check | None
) -> tuple[str | None, Any]:
    if response.status_code != expect:
        if response.status_code:
            text = (response.text or "")[:200]
        else:
            text = str(getattr(response, "error", None) or "no response")
        return f"expected HTTP {expect}, got {response.status_code}: {text}", None
    try:
        data = response.json()
    except ValueError:
        return "response body is not JSON", None
    if keys:
        if not isinstance(data, dict):
            return "response body is not a JSON object", None
        missing = [key for key in keys if key not in data]
        if missing:
            return f"response body lacks {', '.join(missing)}", None
    return (check(data) if check is not None else None), data


def _equals(key: str, value: Any) -> Check:
    def check(data: Any) -> str | None:
        got = data.get(key) if isinstance(data, dict) else None
        return None if got == value else f"expected {key}={value!r}, got {got!r}"

    return check


def _items_have(keys: Iterable[str]) -> Check:
    wanted = tuple(keys)

    def check(data: Any) -> str | None:
        items = data.get("items")
        if not isinstance(items, list):
            return "items is not a list"
        for item in items:
            missing = [key for key in wanted if key not in item]
            if missing:
                return f"an item lacks {', '.join(missing)}"
        return None

    return check


def _words(count: int) -> str:
    return " ".join(random.choices(VOCABULARY.split(), k=count))


# --- PlatformUser -------------------------------------------------------------------------------


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
            self.api_key = self.settings.api_key or self.settings.admin_key
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
            check = _equals("id", ws)
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
            "prompt": f"Summarise: {_words(12)}",
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
            check=_equals("workspace_id", ws),
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
            body={"input": {"text": _words(20)}},
            keys=("id", "status"),
            check=_equals("status", "queued"),
        )
        if data is not None:
            self.follow_execution(str(data["id"]))

    def follow_execution(self, execution_id: str) -> None:
        started = time.monotonic()
        delay_s = 0.1
        for poll in range(1, EXECUTION_MAX_POLLS + 1):
            elapsed_s = time.monotonic() - started
            last = poll == EXECUTION_MAX_POLLS or elapsed_s + delay_s >= EXECUTION_MAX_WAIT_S
            check = _execution_check(execution_id, last)
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
        body = {"title": f"Runbook: {_words(3)}", "content": _words(80), "tags": ["load-test"]}
        self.call(
            "POST",
            "/api/v1/workspaces/[id]/documents",
            ws,
            expect=201,
            body=body,
            keys=DOCUMENT_KEYS,
            check=_equals("title", body["title"]),
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
            query = _words(random.randint(1, 2))
            self.call(
                "GET",
                "/api/v1/workspaces/[id]/search",
                ws,
                params={"q": query, "limit": 10},
                keys=("query", "total", "items"),
                check=_search_check(query),
            )


def _execution_check(execution_id: str, last: bool) -> Check:
    def check(data: Any) -> str | None:
        if data["id"] != execution_id:
            return f"asked for execution {execution_id}, got {data['id']}"
        if data["status"] == "failed":
            return f"execution failed: {data.get('error')}"
        if last and data["status"] not in EXECUTION_FINAL:
            return f"execution still {data['status']} after {EXECUTION_MAX_WAIT_S:.0f} s"
        return None

    return check


def _search_check(query: str) -> Check:
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


# --- AdminUser ----------------------------------------------------------------------------------


class AdminUser(PlatformClient):
    """Administrative load: dashboards, audits, user management and cost reports."""

    weight = 1
    think_time_s = (2.0, 5.0)

    def on_start(self) -> None:
        self.created_user_ids: list[str] = []
        if self.needs_account():
            self.api_key = self.settings.admin_key
            self.call("GET", "/api/v1/auth/me", keys=USER_KEYS, check=_equals("role", "admin"))

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
            check=_equals("disabled", True),
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
            check=_equals("group_by", group_by),
        )


# --- HeavyUser ----------------------------------------------------------------------------------


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
            self.api_key = self.settings.api_key or self.settings.admin_key
        elif not self.register():
            return False
        else:
            self.workspace_id = self.create_workspace()
        self.discover()
        return True

    def discover(self) -> None:
        """Find the seeded dataset and the analysis samples."""
        check = _items_have(("id", "name", "rows"))
        datasets = self.call("GET", "/api/v1/datasets", keys=("items",), check=check)
        if datasets is not None:
            by_name = {item["name"]: str(item["id"]) for item in datasets["items"]}
            self.dataset_id = by_name.get("default") or next(iter(by_name.values()), None)
        check = _items_have(("name", "files"))
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
            _path(route, (self.workspace_id,), None),
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
