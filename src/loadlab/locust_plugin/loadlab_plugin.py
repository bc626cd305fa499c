"""loadlab's Locust plugin: exact response-time histograms and the scenario's load shape.

Loaded by `locust -f <locustfile>,<this file>`. Workers record every response into HdrHistograms per
endpoint per second and ship them, encoded, with each stats report; the master appends every report
to a JSON-lines file that loadlab reads while the run goes on. The master also writes the user count
and the workers' CPU once a second, and a line when a worker is lost (no heartbeat) or comes back,
and follows the stages given by `--loadlab-stages`.

With `--loadlab-rate-stages` (the open model, docs/capacity.md) the shape starts one
`LoadlabArrivals` user per worker instead of the suite's users. It schedules the worker's share of
the arrivals at their due times, whatever the answers do, and runs each as one task of a suite
user (picked by the classes' weights) from a pool bounded by `--loadlab-max-in-flight`; an arrival
that finds the pool full is dropped and counted. Each response is recorded twice: from the moment
its arrival was due and from the moment it was sent.

Listeners are registered at import because that is how Locust loads plugins; they do nothing unless
loadlab's options were given. The histograms and the stage arithmetic are loadlab's own
(`loadlab.histograms`, `loadlab.stages`), not copies: a percentile and a ramp mean the same on
both engines. So Locust runs from loadlab's environment (loadlab finds the `locust` beside its
interpreter first); neither module imports Locust or gevent.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import logging
import os
import random
import socket
import sys
import time
import traceback
from typing import Any

import gevent
import gevent.pool
from locust import LoadTestShape, User, events, task
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser
from locust.runners import (
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    MasterRunner,
    WorkerRunner,
)
from locust.user.task import LOCUST_STATE_RUNNING, DefaultTaskSet

from loadlab.histograms import new_histogram, to_us
from loadlab.rates import due_s, read_rate_stages
from loadlab.rates import total_duration_s as rate_duration_s
from loadlab.results import RateStage, Stage
from loadlab.stages import parse_stages, peak_users, shape_tick

REPORT_KEY = "loadlab"
DONE_MESSAGE = "loadlab_arrivals_done"
LATE_MS = 100.0  # an arrival started later than this after it was due counts as late
DRAIN_S = 30.0  # after the last arrival, the longest the master waits for answers in flight
# After the stages, the longest the master waits for every worker's report of no users. Locust
# itself, quitting, waits 0.5 s for the workers' last reports: a busy worker's last seconds of
# requests came later and were lost, to Locust's totals and to loadlab's alike.
FLUSH_WAIT_S = 10.0
# Known before the locustfiles are imported, so the arrivals' user class exists only when asked.
# A worker on a generator host (`loadlab worker`) learns the run's options from the master's spawn
# message, after import: it has the class always (the master alone picks the classes to spawn).
OPEN_MODEL = any(arg.startswith("--loadlab-rate-stages") for arg in sys.argv)
REMOTE_WORKER = os.environ.get("LOADLAB_REMOTE_WORKER") == "1"
SUITE_MESSAGE = "loadlab_suite"
logger = logging.getLogger(__name__)


class _Recorder:
    """Per-process state: what was recorded since the last report to the master."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, str, str], list[Any]] = {}
        self.errors: dict[tuple[str, str, str], int] = {}
        self.raw: Any = None
        # Raw samples wait for the report that carries their counts: what is recorded after the
        # last report (requests that end while Locust stops) is in neither.
        self.raw_pending: list[str] = []
        self.out: Any = None
        # Open model: each running arrival's delay past its due time (ms), by greenlet, and the
        # arrivals started, dropped and started late since the last report.
        self.delays: dict[Any, float] = {}
        self.arrivals = [0, 0, 0]
        # The first and last response's times since the last report: the run's rate divides by
        # the time from its first to its last response, not by whole seconds.
        self.span: list[float] | None = None
        self.open_model = OPEN_MODEL  # a remote worker's turns True when its arrivals start

    def record(self, method: str, name: str, response_time_ms: float, failed: bool) -> None:
        open_model = self.open_model
        delay_ms = self.delays.get(gevent.getcurrent()) if open_model else None
        value_ms = response_time_ms if delay_ms is None else response_time_ms + delay_ms
        now = time.time()
        if self.span is None:
            self.span = [now, now]
        else:
            self.span[1] = now
        key = (int(now), method, name)
        cell = self.cells.get(key)
        if cell is None:
            cell = [new_histogram(), 0, 0, 0.0]
            if open_model:
                cell += [new_histogram(), 0.0]
            self.cells[key] = cell
        cell[0].record_value(to_us(value_ms))
        cell[1] += 1
        cell[2] += int(failed)
        cell[3] += value_ms
        if len(cell) > 4:
            cell[4].record_value(to_us(response_time_ms))
            cell[5] += response_time_ms
        if self.raw is not None:
            service = f"\t{response_time_ms!r}" if open_model else ""
            self.raw_pending.append(f"{method}\t{name}\t{value_ms!r}\t{int(failed)}{service}\n")

    def drain(self) -> dict[str, Any]:
        entries = [
            [
                second,
                method,
                name,
                cell[0].encode().decode("ascii"),
                cell[1],
                cell[2],
                cell[3],
                *([cell[4].encode().decode("ascii"), cell[5]] if len(cell) > 4 else []),
            ]
            for (second, method, name), cell in self.cells.items()
        ]
        errors = [[m, n, msg, count] for (m, n, msg), count in self.errors.items()]
        arrivals, span = self.arrivals, self.span
        self.span = None
        self.cells = {}
        self.errors = {}
        self.arrivals = [0, 0, 0]
        if self.raw is not None:
            self.raw.writelines(self.raw_pending)
            self.raw_pending = []
            self.raw.flush()
        # The worker's clock as it sends: the master moves the entries into its own seconds.
        return {
            "entries": entries,
            "errors": errors,
            "arrivals": arrivals,
            "span": span,
            "clock": time.time(),
        }

    def write(self, line: dict[str, Any]) -> None:
        if self.out is not None:
            self.out.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.out.flush()


_recorder = _Recorder()


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--loadlab-out", default="", help="loadlab: JSON-lines file (master)")
    parser.add_argument("--loadlab-stages", default="", help="loadlab: stages, ms:users,...")
    parser.add_argument("--loadlab-raw-dir", default="", help="loadlab: raw samples (tests)")
    parser.add_argument("--loadlab-rate-stages", default="", help="loadlab: open model, JSON")
    parser.add_argument("--loadlab-max-in-flight", type=int, default=0, help="loadlab: per run")
    parser.add_argument("--loadlab-workers", type=int, default=1, help="loadlab: worker count")


@events.init.add_listener
def _on_init(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    runner = environment.runner
    if isinstance(runner, MasterRunner) and OPEN_MODEL:
        runner.register_message(DONE_MESSAGE, _on_arrivals_done)
    if isinstance(runner, MasterRunner):
        runner.register_message(SUITE_MESSAGE, _on_worker_suite)
    if isinstance(runner, WorkerRunner):
        gevent.spawn(_send_suite, runner, options.locustfile)
        gevent.spawn(_report_when_idle, runner)
    if isinstance(runner, MasterRunner) and options.loadlab_out:
        _recorder.out = open(options.loadlab_out, "a", encoding="utf-8")  # noqa: SIM115
        gevent.spawn(_report_users, environment)
        # Quitting listeners run in reverse order, so this one would run before the suite's:
        # the suite's own verdict is final only at exit.
        atexit.register(_write_suite_verdict, environment, options.loadlab_out)
    if not isinstance(runner, MasterRunner) and options.loadlab_raw_dir:
        path = os.path.join(options.loadlab_raw_dir, f"raw-{os.getpid()}.tsv")
        _recorder.raw = open(path, "a", encoding="utf-8")  # noqa: SIM115


@functools.lru_cache(maxsize=8)  # the master compares every worker's with its own
def suite_hash(locustfiles: str) -> str:
    """What a worker must share with its master: every Python file in the folders of the suite's
    locustfiles (a suite of several modules, as the seed's is), this plugin's folder left out."""
    plugin_dir = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    folders = {
        os.path.dirname(os.path.abspath(path))
        for path in locustfiles.split(",")
        if path.strip() and os.path.dirname(os.path.abspath(path)) != plugin_dir
    }
    for folder in sorted(folders):
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, folder).encode())
                with open(path, "rb") as file:
                    digest.update(file.read())
    return digest.hexdigest()[:16]


def _send_suite(runner: Any, locustfiles: str) -> None:
    """Once connected (the master's ack sets the index), tell the master which suite this is."""
    gevent.sleep(0.5)
    runner.send_message(
        SUITE_MESSAGE, {"hash": suite_hash(locustfiles), "host": socket.gethostname()}
    )


def _on_worker_suite(environment: Any, msg: Any, **_kwargs: Any) -> None:
    mine = suite_hash(environment.parsed_options.locustfile)
    theirs = str((msg.data or {}).get("hash"))
    _recorder.write(
        {"type": "worker", "worker": str(msg.node_id), "host": str((msg.data or {}).get("host"))}
    )
    if theirs != mine:
        _recorder.write(
            {
                "type": "suite_mismatch",
                "worker": str(msg.node_id),
                "host": str((msg.data or {}).get("host")),
                "hash": theirs,
                "master_hash": mine,
            }
        )
        environment.runner.quit()


def _write_suite_verdict(environment: Any, path: str) -> None:
    code = getattr(environment, "process_exit_code", None)
    with open(path, "a", encoding="utf-8") as out:
        line = {"type": "suite_exit", "process_exit_code": code}
        out.write(json.dumps(line, separators=(",", ":")) + "\n")


class _Workers:
    """The master's view of its workers while the load runs: one that stops sending heartbeats
    (Locust marks it missing after 3 s) or leaves is lost; one whose heartbeats return is back."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.lost: set[str] = set()

    def check(self, runner: Any) -> None:
        if runner.state not in (STATE_SPAWNING, STATE_RUNNING):
            return  # workers leave at the end of a run: that is no loss
        clients = dict(runner.clients.items())
        for client_id in clients:
            self.seen.setdefault(client_id, runner.get_worker_index(client_id))
        gone = {
            client_id
            for client_id in self.seen
            if client_id not in clients or clients[client_id].state == STATE_MISSING
        }
        for client_id in sorted(gone - self.lost):
            self._write("worker_lost", client_id)
        for client_id in sorted(self.lost - gone):
            self._write("worker_back", client_id)
        self.lost = gone

    def _write(self, kind: str, client_id: str) -> None:
        _recorder.write(
            {"type": kind, "t": time.time(), "worker": client_id, "index": self.seen[client_id]}
        )


def _report_users(environment: Any) -> None:
    workers = _Workers()
    while True:
        runner = environment.runner
        workers.check(runner)
        cpu = {
            client_id: [runner.get_worker_index(client_id), client.cpu_usage]
            for client_id, client in runner.clients.items()
        }
        _recorder.write(
            {
                "type": "users",
                "t": time.time(),
                "users": runner.user_count,
                "worker_cpu_max": max((c for _, c in cpu.values()), default=None),
                "workers": cpu,
                "master_cpu": runner.current_cpu_usage,
            }
        )
        gevent.sleep(1.0)


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float | None,
    exception: BaseException | None = None,
    **_kwargs: Any,
) -> None:
    _recorder.record(request_type, name, float(response_time or 0.0), exception is not None)
    if exception is not None:
        key = (request_type, name, _error_message(exception))
        _recorder.errors[key] = _recorder.errors.get(key, 0) + 1


def _error_message(exception: BaseException) -> str:
    from locust.stats import StatsError

    return str(StatsError.parse_error(exception))


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
    data[REPORT_KEY] = _recorder.drain()


def _report_when_idle(runner: Any) -> None:
    """A worker whose users have all stopped reports at once, not at its next 3 s report: the
    master ends the run when every worker has (LoadlabShape)."""
    had_users = False
    while True:
        gevent.sleep(0.1)
        if runner.user_count:
            had_users = True
        elif had_users:
            had_users = False
            runner._send_stats()  # Locust's own report (report_to_master adds loadlab's)


# Master: each worker's latest report: when it arrived, its users then, and whether it is the
# report of a worker whose users had run and have all stopped (so it holds all they did).
_latest_reports: dict[str, tuple[float, int, bool]] = {}


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict[str, Any]) -> None:
    users = int(data.get("user_count") or 0)
    previous = _latest_reports.get(client_id)
    had_users = previous is not None and (previous[1] > 0 or previous[2])
    _latest_reports[client_id] = (time.monotonic(), users, users == 0 and had_users)
    report = data.get(REPORT_KEY)
    if report is not None and (report["entries"] or report["errors"] or any(report["arrivals"])):
        # A generator host's clock may be seconds off: its seconds are moved by the difference
        # between the clocks as this report left and arrived (milliseconds of transit on a LAN,
        # so whole seconds off are corrected and a local worker's offset rounds to 0).
        offset_s = time.time() - float(report.pop("clock", time.time()))
        shift = round(offset_s)
        if shift:
            for entry in report["entries"]:
                entry[0] += shift
            if report.get("span"):
                report["span"] = [t + shift for t in report["span"]]
        _recorder.write(
            {"type": "stats", "worker": client_id, "offset_s": round(offset_s, 3), **report}
        )


@events.quitting.add_listener
def _on_quitting(environment: Any, **_kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    if _recorder.out is not None:
        _recorder.write({"type": "end", "t": time.time()})
        _recorder.out.close()
        _recorder.out = None


_done_workers: set[str] = set()


def _on_arrivals_done(environment: Any, msg: Any, **_kwargs: Any) -> None:
    _done_workers.add(str(msg.node_id))


# Without loadlab's stages (the plugin loaded by hand beside a locustfile), no shape: the
# locustfile's own shape or Locust's -u/-r/-t set the load, and the plugin only records.
SHAPED = OPEN_MODEL or any(arg.startswith("--loadlab-stages") for arg in sys.argv)

if SHAPED:

    class LoadlabShape(LoadTestShape):
        """The scenario's stages ("ms:users,..."): loadlab's own ramp arithmetic (`shape_tick`).

        In the open model: one `LoadlabArrivals` user per worker until every worker has sent its
        last arrival and seen its answers (or DRAIN_S after the last one was due)."""

        _stages: tuple[Stage, ...] | None = None
        _rates: tuple[RateStage, ...] = ()
        _ended_at: float | None = None

        def tick(self) -> tuple[int, float] | tuple[int, float, list[type[User]]] | None:
            if self._stages is None:
                options = self.runner.environment.parsed_options
                text = options.loadlab_stages if options is not None else ""
                self._stages = parse_stages(text) if text else ()
                rates = options.loadlab_rate_stages if options is not None else ""
                self._rates = read_rate_stages(rates) if rates else ()
            if self._rates:
                workers = max(1, int(getattr(self.runner, "worker_count", 1)))
                elapsed_s = self.get_run_time()
                over = elapsed_s >= rate_duration_s(self._rates)
                all_done = len(_done_workers) >= workers and over
                if all_done or elapsed_s > rate_duration_s(self._rates) + DRAIN_S:
                    return None
                return workers, float(workers), [LoadlabArrivals]
            tick = shape_tick(self._stages, self.get_run_time())
            return tick if tick is not None else self._after_the_stages()

        def _after_the_stages(self) -> tuple[int, float] | None:
            """No users, until every worker has reported since it stopped its own (each does
            at once), so the run's last seconds are counted; then the run ends."""
            now = time.monotonic()
            if self._ended_at is None:
                self._ended_at = now
            ended = self._ended_at
            workers = [c.id for c in self.runner.clients.all if c.state != STATE_MISSING]
            reported = all(_settled(_latest_reports.get(w), ended) for w in workers)
            if reported or now - ended > FLUSH_WAIT_S:
                return None
            return 0, float(max(1, peak_users(self._stages or ())))


def _settled(report: tuple[float, int, bool] | None, ended: float) -> bool:
    """A worker's latest report says no user runs, and it was sent once its users stopped (or
    after the stages ended, for a worker that never had one)."""
    if report is None:
        return False
    arrived, users, after_users = report
    return users == 0 and (after_users or arrived > ended)


class _Arrivals:
    """One worker's share of the open model: every `workers`-th arrival, from `index` on."""

    def __init__(self, environment: Any) -> None:
        options = environment.parsed_options
        self.environment = environment
        self.stages = read_rate_stages(options.loadlab_rate_stages)
        self.workers = max(1, options.loadlab_workers)
        self.index = int(getattr(environment.runner, "worker_index", 0)) % self.workers
        bound = max(1, round(options.loadlab_max_in_flight / self.workers))
        self.pool = gevent.pool.Pool(bound)
        self.classes = [
            c for c in environment.user_classes if c.__name__ != "LoadlabArrivals" and c.tasks
        ]
        self.weights = [max(0, getattr(c, "weight", 1)) for c in self.classes]
        self.idle: dict[type[User], list[User]] = {c: [] for c in self.classes}
        self.created: list[User] = []
        _recorder.open_model = True

    def run(self) -> None:
        started = time.monotonic()
        k = self.index
        try:
            while self.classes:
                due = due_s(self.stages, k)
                if due is None:
                    break
                wait_s = started + due - time.monotonic()
                if wait_s > 0:
                    gevent.sleep(wait_s)
                if self.pool.full():
                    _recorder.arrivals[1] += 1
                else:
                    self.pool.spawn(self._iteration, started + due)
                k += self.workers
            self.pool.join(timeout=DRAIN_S)
        finally:
            self.pool.kill(block=False)
            for user in self.created:
                _quietly(user.on_stop)
            _tell_master_done(self.environment)

    def _iteration(self, due_at: float) -> None:
        delay_ms = max(0.0, (time.monotonic() - due_at) * 1000.0)
        _recorder.arrivals[0] += 1
        _recorder.arrivals[2] += int(delay_ms > LATE_MS)
        me = gevent.getcurrent()
        _recorder.delays[me] = delay_ms
        try:
            (chosen,) = random.choices(self.classes, weights=self.weights)
            user = self._user(chosen)
            if user is not None:
                self._one_task(user)
        finally:
            _recorder.delays.pop(me, None)

    def _user(self, chosen: type[User]) -> User | None:
        """An idle instance of the class, or a new one that has run its on_start."""
        if self.idle[chosen]:
            return self.idle[chosen].pop()
        user = chosen(self.environment)
        user._state = LOCUST_STATE_RUNNING
        user._taskset_instance = DefaultTaskSet(user)
        try:
            user.on_start()
        except Exception as error:  # the suite's own failure: Locust's way of reporting it
            self._user_error(user, error)
            return None
        self.created.append(user)
        return user

    def _one_task(self, user: User) -> None:
        tasks = user._taskset_instance
        try:
            tasks.execute_task(tasks.get_next_task())
        except (RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet):
            pass
        except StopUser:
            _quietly(user.on_stop)
            self.created.remove(user)
            return
        except Exception as error:
            self._user_error(user, error)
        self.idle[type(user)].append(user)

    def _user_error(self, user: User, error: Exception) -> None:
        logger.error("%s\n%s", error, traceback.format_exc())
        self.environment.events.user_error.fire(
            user_instance=user, exception=error, tb=error.__traceback__
        )


def _quietly(call: Any) -> None:
    try:
        call()
    except Exception:
        logger.exception("on_stop failed")


def _tell_master_done(environment: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(DONE_MESSAGE, None)


if OPEN_MODEL or REMOTE_WORKER:

    class LoadlabArrivals(User):
        """The open model's scheduler on one worker (not a user of the suite)."""

        @task
        def _never(self) -> None:  # Locust requires a task; run() below replaces the loop
            pass

        def run(self) -> None:  # type: ignore[misc]
            _Arrivals(self.environment).run()
            gevent.sleep(DRAIN_S * 4)  # the shape ends the run once every worker is done
