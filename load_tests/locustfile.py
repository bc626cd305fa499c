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
selected reads with an existing key instead (one of ``PLATFORM_API_KEYS``, else
``PLATFORM_API_KEY``, else the admin key).

Configuration (environment variable, or the Locust option next to it):

- ``PLATFORM_ADMIN_API_KEY`` / ``--admin-api-key``: the platform's admin key. Needed by
  AdminUser and by the cleanup; a run that needs it and lacks it stops before starting.
- ``PLATFORM_API_KEYS`` / ``--api-keys``: existing accounts (comma-separated), shared out among
  the users of runs that exclude ``write``; ``platform-api seed-keys`` gives seeded accounts keys.
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

This file holds the user classes (imported from ``platform_load/``, one module per class) and the
event hooks; ``platform_load/`` holds the rest: ``run_settings.py`` (the options above and their
check), ``client.py`` (requests named and checked), ``checks.py``, ``cleanup.py``.
"""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from platform_load import admin_user, heavy_user, platform_user
from platform_load.cleanup import clean_up
from platform_load.run_settings import RunSettings, add_options

# Locust runs the User classes it finds here, in this order (the order of its class list, its
# messages and its reports), so they are bound one by one rather than imported alphabetically.
PlatformUser = platform_user.PlatformUser
AdminUser = admin_user.AdminUser
HeavyUser = heavy_user.HeavyUser

logger = logging.getLogger("load_tests")


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    add_options(parser)


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


@events.test_stop.add_listener
def _clean_up(environment: Environment, **_: Any) -> None:
    clean_up(environment)
