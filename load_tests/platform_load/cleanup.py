"""Deleting the run's data when the test stops, once per run, after every user has stopped.

The platform tags every row a request creates with the request's ``X-Load-Test-Run`` header, so
one ``DELETE /api/v1/admin/test-runs/{run_id}`` removes everything the run made. Only the master
(or the single process) cleans up; workers do nothing here.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections import Counter

import gevent
from locust.env import Environment
from locust.rpc import Message
from locust.runners import MasterRunner, WorkerRunner

from platform_load.run_settings import RunSettings

logger = logging.getLogger("load_tests")

CLEANUP_TIMEOUT_S = 120.0
CLEANUP_PASSES = 5
CLEANUP_SETTLE_S = 0.5
WORKER_STOP_TIMEOUT_S = 30.0


def clean_up(environment: Environment) -> None:
    """Delete the run's data, unless nothing was written or the run keeps it (--no-cleanup)."""
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
        stop_workers(runner)
    base_url = (environment.host or "").rstrip("/")
    deleted = delete_test_run(base_url, settings)
    if deleted is not None:
        logger.info("cleanup of test run %s: deleted %s", settings.run_id, deleted)


def stop_workers(runner: MasterRunner) -> None:
    """Stop the workers' users before deleting what they work on.

    On quit (--run-time, SIGTERM) the master fires test_stop before it tells the workers anything,
    so without this their users would still be sending requests into the data being deleted.
    """
    for client in list(runner.clients.all):
        runner.server.send_to_client(Message("stop", None, client.id))
    deadline = time.monotonic() + WORKER_STOP_TIMEOUT_S
    while runner.user_count and time.monotonic() < deadline:
        gevent.sleep(0.1)


def delete_test_run(base_url: str, settings: RunSettings) -> dict[str, int] | None:
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
