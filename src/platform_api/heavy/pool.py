"""Heavy CPU work in worker processes, so that it does not hold the server's GIL.

Analysing a codebase or building a project zip is pure-Python work: run in a thread of the server,
it holds the GIL for most of a second and every other request waits behind it. Here it runs in a
`ProcessPoolExecutor` that the app's lifespan creates and closes, with `PLATFORM_HEAVY_PROCESSES`
processes (0 runs the work in the calling thread, as before, to compare). Processes are started
with `spawn`: the server has threads and database connections, and a forked child would inherit
locks held by other threads and sockets that it must not use. The work functions take bytes and
plain data and return plain data; the database part of a request stays in the request's thread.

Requests take turns for the processes on the event loop (`HeavyPool.slot`, first come first
served, holding no thread): one per process, so a task handed to the executor starts at once and
its budget counts the work, not the queue. Under the seed's stress profile ~13 heavy requests
waited for the one process at any time, and a budget that counted their wait answered 504 to most
of them. One that has waited `wait_s` for a process is answered 503 with Retry-After.

The budget holds twice. The work gets the request's Budget and stops itself at the deadline
between units of work (a file), so a task whose request has given up ends within one unit. The
request waits on the future for the remaining budget and answers 504 past it. A task still running
`RUNAWAY_GRACE_S` after its deadline is stuck in one unit (a huge file), and ProcessPoolExecutor
cannot say which process runs it: the whole pool is replaced by a fresh one and the old processes
are terminated. Tasks of other requests lost with the old pool are retried once on the new one,
within their own budget.
"""

from __future__ import annotations

import functools
import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from multiprocessing.connection import wait
from typing import ParamSpec, TypeVar

import anyio

from platform_api.errors import Unavailable
from platform_api.heavy.budget import Budget

logger = logging.getLogger("platform_api.heavy")
P = ParamSpec("P")
T = TypeVar("T")

# Imported by each process before its first task, so that no request pays for the imports.
WORK_MODULES = ("platform_api.heavy.analysis", "platform_api.heavy.generator")
RUNAWAY_GRACE_S = 0.5
CLOSE_GRACE_S = 1.0
STOP_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 60.0


class HeavyPool:
    """Runs pure functions in worker processes (or in the calling thread with 0 processes)."""

    def __init__(self, processes: int, *, wait_s: float = 20.0) -> None:
        self.processes = processes
        self.wait_s = wait_s
        # Made on first use, inside the event loop that serves the requests.
        self._slots: anyio.CapacityLimiter | None = None
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self._watchdogs: set[threading.Timer] = set()

    def start(self) -> None:
        """Start the processes and wait until they are ready: the first request pays nothing."""
        if self.processes == 0:
            return
        executor = self._new_executor()
        with self._lock:
            self._executor = executor
        try:
            _warm_up(executor, self.processes, READY_TIMEOUT_S)
        except FutureTimeout:
            raise RuntimeError(
                f"the {self.processes} heavy worker processes (PLATFORM_HEAVY_PROCESSES) "
                f"did not start within {READY_TIMEOUT_S:g} s"
            ) from None

    def close(self) -> None:
        """Stop every process; a task still running gets `CLOSE_GRACE_S`, then is terminated."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            watchdogs, self._watchdogs = self._watchdogs, set()
        for watchdog in watchdogs:
            watchdog.cancel()
        if executor is not None:
            stopped = _stop(executor, CLOSE_GRACE_S)
            logger.info("stopped the heavy worker processes %s", _pids(stopped))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A process of this pool to itself, waited for on the event loop (first come, first
        served) for up to `wait_s`; past it 503 with Retry-After. No wait with 0 processes."""
        if self.processes == 0:
            yield
            return
        if self._slots is None:
            self._slots = anyio.CapacityLimiter(self.processes)
        slots = self._slots
        acquired = False
        with anyio.move_on_after(self.wait_s):
            await slots.acquire()
            acquired = True
        if not acquired:
            raise Unavailable(
                f"Every heavy-work process has been busy for {self.wait_s:g} s "
                "(PLATFORM_HEAVY_WAIT_S); retry shortly",
                headers={"Retry-After": "5"},
            )
        try:
            yield
        finally:
            slots.release()

    def run(self, budget: Budget, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(*args, **kwargs)` in a worker process, waited on for the budget's remainder.

        `work` must be importable at module level and its arguments and result picklable.
        Past the budget: the budget's GatewayTimeout (504).
        """
        call: Callable[[], T] = functools.partial(work, *args, **kwargs)
        if self.processes == 0:
            pid, elapsed_s, result = _measured(call)
        else:
            pid, elapsed_s, result = self._run_in_process(budget, call)
        name = getattr(work, "__name__", repr(work))
        logger.debug("heavy work %s ran in process %d for %.3f s", name, pid, elapsed_s)
        return result

    def _run_in_process(self, budget: Budget, call: Callable[[], T]) -> tuple[int, float, T]:
        for _attempt in range(2):
            executor = self._current()
            try:
                future = executor.submit(_measured, call)
            except BrokenProcessPool:
                self._replace(executor, "a worker process had died", ready_timeout_s=0)
                continue
            except RuntimeError:  # shut down by a replacement in another thread since _current
                continue
            try:
                return future.result(timeout=max(0.0, budget.remaining_s()))
            except FutureTimeout:
                self._watch(executor, future)
                raise budget.timeout() from None
            except (BrokenProcessPool, CancelledError):
                # Lost with its pool: a worker died, or the pool was replaced after a runaway.
                self._replace(executor, "a worker process died", ready_timeout_s=0)
        raise Unavailable("The heavy-work processes failed twice in a row; try again later")

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed or self._executor is None:
                raise Unavailable("The server is shutting down; try again later")
            return self._executor

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_prepare_worker,
            initargs=(WORK_MODULES,),
        )

    def _watch(self, executor: ProcessPoolExecutor, future: Future[tuple[int, float, T]]) -> None:
        """After a timeout: a task not yet started is dropped; one that runs on gets a grace.

        Every request has the same budget and the pool is first in, first out, so a task ahead of
        this one has an earlier deadline: if this one has not ended a grace after its deadline,
        the task that holds its process is past its own deadline too, not a legitimate one.
        """
        if future.cancel():
            return

        def check() -> None:
            with self._lock:
                self._watchdogs.discard(watchdog)
            if not future.done():
                reason = f"a task ran {RUNAWAY_GRACE_S:g} s past its budget"
                self._replace(executor, reason, ready_timeout_s=READY_TIMEOUT_S)

        watchdog = threading.Timer(RUNAWAY_GRACE_S, check)
        watchdog.daemon = True
        with self._lock:
            if self._closed:
                return
            self._watchdogs.add(watchdog)
        watchdog.start()

    def _replace(self, executor: ProcessPoolExecutor, reason: str, ready_timeout_s: float) -> None:
        """Swap in a fresh pool (unless another thread already did) and stop the old one."""
        fresh = self._new_executor()
        with self._lock:
            if self._closed or self._executor is not executor:
                fresh.shutdown(wait=False)
                return
            self._executor = fresh
        stopped = _stop(executor, grace_s=0)
        try:
            _warm_up(fresh, self.processes, ready_timeout_s)
        except FutureTimeout:
            if ready_timeout_s > 0:
                logger.warning("new heavy worker processes not ready in %g s", ready_timeout_s)
        except RuntimeError as exc:  # broken at start (the next request replaces it), or closed
            logger.warning("new heavy worker processes failed to start: %s", exc)
        logger.warning(
            "replaced the heavy worker processes because %s; stopped %s", reason, _pids(stopped)
        )


def _measured(call: Callable[[], T]) -> tuple[int, float, T]:
    """Runs in the worker: the result, with which process computed it and how long it took."""
    started = time.perf_counter()
    result = call()
    return os.getpid(), time.perf_counter() - started, result


def _ready() -> int:
    return os.getpid()


def _prepare_worker(modules: Iterable[str]) -> None:
    # Ctrl-C in a terminal reaches the whole process group; the server decides when workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for module in modules:
        importlib.import_module(module)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # A server killed with SIGKILL cannot stop its workers: they notice and end themselves.
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(1)


def _warm_up(executor: ProcessPoolExecutor, processes: int, timeout_s: float) -> None:
    """Submitting one task per process starts them all; wait up to `timeout_s` for them."""
    futures = [executor.submit(_ready) for _ in range(processes)]
    deadline = time.monotonic() + timeout_s
    for future in futures:
        future.result(timeout=max(0.0, deadline - time.monotonic()))


def _stop(executor: ProcessPoolExecutor, grace_s: float) -> list[int]:
    """Shut the pool down; processes still running after `grace_s` are terminated."""
    # Not public API, but the only handle on the processes; shutdown() forgets them.
    processes = list((executor._processes or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    # Sentinels, not join(): the executor's own thread reaps these processes, and two threads
    # reaping one pid would race.
    running = _wait_for_exit({p.sentinel: p for p in processes}, grace_s)
    for process in running.values():
        process.terminate()
    for process in _wait_for_exit(running, STOP_TIMEOUT_S).values():
        process.kill()
    return [p.pid for p in processes if p.pid is not None]


def _pids(pids: list[int]) -> str:
    return ", ".join(str(pid) for pid in pids) or "none"


def _wait_for_exit(
    processes: dict[int, multiprocessing.process.BaseProcess], timeout_s: float
) -> dict[int, multiprocessing.process.BaseProcess]:
    """The processes (by sentinel) still running after `timeout_s`."""
    running = dict(processes)
    deadline = time.monotonic() + timeout_s
    while running:
        ended = wait(list(running), timeout=max(0.0, deadline - time.monotonic()))
        if not ended:
            break
        running = {sentinel: p for sentinel, p in running.items() if sentinel not in ended}
    return running
