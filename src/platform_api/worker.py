"""The background worker: threads that claim queued executions, run their steps and finish them.

Started and stopped by the app's lifespan. Claims are leased (see executions.queue), so a worker
killed mid-execution loses nothing: the lease expires and another worker runs the execution again.
`stop()` is graceful: a sleeping step is interrupted, any other step finishes, and the execution
is handed back to the queue rather than left leased until its lease expires.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from platform_api.db import Database
from platform_api.executions import queue
from platform_api.executions.steps import (
    StepFailed,
    StepInterrupted,
    StepOutcome,
    StepRunner,
    clip,
)
from platform_api.settings import Settings
from platform_api.telemetry import Telemetry

logger = logging.getLogger("platform_api.worker")
MAX_BACKOFF_S = 5.0
MAX_OUTPUT_CHARS = 64 * 1024


class ExecutionWorker:
    def __init__(self, database: Database, settings: Settings, telemetry: Telemetry) -> None:
        self.database = database
        self.settings = settings
        self.telemetry = telemetry
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for index in range(self.settings.worker_threads):
            thread = threading.Thread(
                target=self._loop,
                args=(f"{self._identity}:{index}",),
                name=f"execution-worker-{index}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Interrupt sleeps, let running steps end, hand unfinished executions back."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive:
            logger.warning("worker threads still running at shutdown: %s", ", ".join(alive))
        self._threads = []

    def _loop(self, owner: str) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                claim = self._next_claim(owner)
                failures = 0
            except Exception:
                # The database may be briefly unavailable; the worker must outlive that.
                failures += 1
                logger.exception("claiming an execution failed")
                self._stop.wait(
                    min(MAX_BACKOFF_S, self.settings.worker_poll_interval_s * 2**failures)
                )
                continue
            if claim is None:
                self._stop.wait(self.settings.worker_poll_interval_s)
                continue
            try:
                self._execute(claim)
            except Exception:
                # Left leased: the lease expires and the execution runs again elsewhere.
                logger.exception("execution %s could not be completed", claim.execution_id)

    def _next_claim(self, owner: str) -> queue.Claim | None:
        if not queue.has_claimable(self.database):
            return None
        return queue.claim(self.database, owner, self.settings.execution_lease_s)

    def _execute(self, claim: queue.Claim) -> None:
        lease = _Lease(self.database, claim, self.settings.execution_lease_s)
        runner = StepRunner(claim.execution_id, self._stop, lease.keep_going)
        text = claim.input_text
        results: list[dict[str, Any]] = []
        costs: list[queue.Cost] = []
        error: str | None = None
        for index, step in enumerate(claim.steps):
            if self._stop.is_set():
                queue.release(self.database, claim)
                return
            started = time.perf_counter()
            try:
                outcome = runner.run(index, step, text)
            except StepInterrupted:
                if self._stop.is_set():
                    queue.release(self.database, claim)
                return
            except Exception as exc:
                error = f"step {step.get('name', index)!s} failed: {_reason(exc)}"
                results.append(_step_result(step, None, started, failed=True))
                break
            results.append(_step_result(step, outcome, started))
            text = outcome.text
            if outcome.model is not None:
                costs.append(queue.Cost(outcome.model, outcome.tokens, outcome.cost_usd))
            if not lease.keep_going():
                return
        finished = queue.finish(
            self.database,
            claim,
            queue.Outcome(
                status="failed" if error else "succeeded",
                output=None if error else {"text": text[:MAX_OUTPUT_CHARS]},
                step_results=results,
                error=error,
                costs=costs,
            ),
        )
        if not finished:
            logger.warning("execution %s: lease lost before it could finish", claim.execution_id)


class _Lease:
    """Renews the claim's lease when a third of it has passed; False once it is lost."""

    def __init__(self, database: Database, claim: queue.Claim, lease_s: float) -> None:
        self.database = database
        self.claim = claim
        self.lease_s = lease_s
        self.renewed_at = time.monotonic()
        self.held = True

    def keep_going(self) -> bool:
        if self.held and time.monotonic() - self.renewed_at >= self.lease_s / 3:
            self.held = queue.renew(self.database, self.claim, self.lease_s)
            self.renewed_at = time.monotonic()
        return self.held


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"


def _step_result(
    step: dict[str, Any], outcome: StepOutcome | None, started: float, *, failed: bool = False
) -> dict[str, Any]:
    return {
        "name": str(step.get("name", "")),
        "type": str(step.get("type", "")),
        "status": "failed" if failed else "succeeded",
        "output": clip(outcome.text) if outcome else None,
        "tokens": outcome.tokens if outcome else 0,
        "cost_usd": outcome.cost_usd if outcome else 0.0,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
