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

CLEANUP_TIMEOUT_S = 120.0  # one request; the platform answers within its cleanup budget (30 s)
CLEANUP_DEADLINE_S = 600.0  # the whole cleanup, retries included
CLEANUP_PASSES = 5  # complete passes at most, until one after the first finds nothing
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
    outcome = delete_test_run(base_url, settings)
    if outcome is not None:
        deleted, kept = outcome
        logger.info("cleanup of test run %s: deleted %s, kept %s", settings.run_id, deleted, kept)


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


def delete_test_run(
    base_url: str, settings: RunSettings
) -> tuple[dict[str, int], dict[str, int]] | None:
    """Delete the run's data until a complete pass finds nothing left: what was deleted and what
    was kept (the audit trail), or None after logging why not.

    The platform deletes in batches and answers `complete: false` when its time for one request
    ran out, so this asks again; a busy platform (503, a timeout, a reset connection) is asked
    again after a growing pause, for up to CLEANUP_DEADLINE_S. Requests that were in flight when
    the users stopped may still create rows after the first complete pass: a second pass a moment
    later catches them.
    """
    url = f"{base_url}/api/v1/admin/test-runs/{settings.run_id}"
    request = urllib.request.Request(
        url, method="DELETE", headers={"Authorization": f"Bearer {settings.admin_key}"}
    )
    total: Counter[str] = Counter()
    kept: dict[str, int] = {}
    deadline = time.monotonic() + CLEANUP_DEADLINE_S
    complete_passes = 0
    pause_s = CLEANUP_SETTLE_S
    while complete_passes < CLEANUP_PASSES:
        try:
            with urllib.request.urlopen(request, timeout=CLEANUP_TIMEOUT_S) as response:
                body = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if not _retryable(exc) or time.monotonic() + pause_s > deadline:
                _log_failure(settings.run_id, url, exc)
                return None
            logger.info(
                "retrying the cleanup of run %s in %.1f s: %s", settings.run_id, pause_s, exc
            )
            gevent.sleep(pause_s)
            pause_s = min(pause_s * 2, 10.0)
            continue
        pause_s = CLEANUP_SETTLE_S
        deleted = body.get("deleted", {})
        total.update(deleted)
        kept = body.get("kept") or kept
        if not body.get("complete", True):  # the platform's time for one request ran out
            if time.monotonic() > deadline:
                _log_failure(settings.run_id, url, TimeoutError("not complete in time"))
                return None
            continue
        complete_passes += 1
        if complete_passes > 1 and not any(deleted.values()):
            break
        gevent.sleep(CLEANUP_SETTLE_S)
    return dict(total), kept


def _retryable(exc: BaseException) -> bool:
    """Busy or slow, not wrong: 503 (and 502/504 from a proxy), timeouts, reset connections."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in (502, 503, 504)
    return isinstance(exc, (urllib.error.URLError, OSError))


def _log_failure(run_id: str, url: str, exc: BaseException) -> None:
    logger.error(
        "cleanup of test run %s failed (%s); delete its data with: curl -X DELETE "
        '-H "Authorization: Bearer $PLATFORM_ADMIN_API_KEY" %s',
        run_id,
        exc,
        url,
    )
