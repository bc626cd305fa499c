"""loadlab's Locust plugin: exact response-time histograms and the scenario's load shape.

Loaded by `locust -f <locustfile>,<this file>`. Workers record every response into HdrHistograms per
endpoint per second and ship them, encoded, with each stats report; the master appends every report
to a JSON-lines file that loadlab reads while the run goes on. The master also writes the user count
and the workers' CPU once a second, and follows the stages given by `--loadlab-stages`.

Listeners are registered at import because that is how Locust loads plugins; they do nothing unless
loadlab's options were given. The histograms and the stage arithmetic are loadlab's own
(`loadlab.histograms`, `loadlab.stages`), not copies: a percentile and a ramp mean the same on
both engines. So Locust runs from loadlab's environment (loadlab finds the `locust` beside its
interpreter first); neither module imports Locust or gevent.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from typing import Any

import gevent
from locust import LoadTestShape, events
from locust.runners import MasterRunner, WorkerRunner

from loadlab.histograms import new_histogram, to_us
from loadlab.results import Stage
from loadlab.stages import parse_stages, shape_tick

REPORT_KEY = "loadlab"


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

    def record(self, method: str, name: str, response_time_ms: float, failed: bool) -> None:
        key = (int(time.time()), method, name)
        cell = self.cells.get(key)
        if cell is None:
            cell = [new_histogram(), 0, 0, 0.0]
            self.cells[key] = cell
        cell[0].record_value(to_us(response_time_ms))
        cell[1] += 1
        cell[2] += int(failed)
        cell[3] += response_time_ms
        if self.raw is not None:
            self.raw_pending.append(f"{method}\t{name}\t{response_time_ms!r}\t{int(failed)}\n")

    def drain(self) -> dict[str, Any]:
        entries = [
            [second, method, name, cell[0].encode().decode("ascii"), cell[1], cell[2], cell[3]]
            for (second, method, name), cell in self.cells.items()
        ]
        errors = [[m, n, msg, count] for (m, n, msg), count in self.errors.items()]
        self.cells = {}
        self.errors = {}
        if self.raw is not None:
            self.raw.writelines(self.raw_pending)
            self.raw_pending = []
            self.raw.flush()
        return {"entries": entries, "errors": errors}

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


@events.init.add_listener
def _on_init(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    runner = environment.runner
    if isinstance(runner, MasterRunner) and options.loadlab_out:
        _recorder.out = open(options.loadlab_out, "a", encoding="utf-8")  # noqa: SIM115
        gevent.spawn(_report_users, environment)
        # Quitting listeners run in reverse order, so this one would run before the suite's:
        # the suite's own verdict is final only at exit.
        atexit.register(_write_suite_verdict, environment, options.loadlab_out)
    if not isinstance(runner, MasterRunner) and options.loadlab_raw_dir:
        path = os.path.join(options.loadlab_raw_dir, f"raw-{os.getpid()}.tsv")
        _recorder.raw = open(path, "a", encoding="utf-8")  # noqa: SIM115


def _write_suite_verdict(environment: Any, path: str) -> None:
    code = getattr(environment, "process_exit_code", None)
    with open(path, "a", encoding="utf-8") as out:
        line = {"type": "suite_exit", "process_exit_code": code}
        out.write(json.dumps(line, separators=(",", ":")) + "\n")


def _report_users(environment: Any) -> None:
    while True:
        runner = environment.runner
        cpu = [client.cpu_usage for client in runner.clients.values()]
        _recorder.write(
            {
                "type": "users",
                "t": time.time(),
                "users": runner.user_count,
                "worker_cpu_max": max(cpu, default=None),
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


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict[str, Any]) -> None:
    report = data.get(REPORT_KEY)
    if report is not None and (report["entries"] or report["errors"]):
        _recorder.write({"type": "stats", "worker": client_id, **report})


@events.quitting.add_listener
def _on_quitting(environment: Any, **_kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    if _recorder.out is not None:
        _recorder.write({"type": "end", "t": time.time()})
        _recorder.out.close()
        _recorder.out = None


class LoadlabShape(LoadTestShape):
    """The scenario's stages ("ms:users,..."): loadlab's own ramp arithmetic (`shape_tick`)."""

    _stages: tuple[Stage, ...] | None = None

    def tick(self) -> tuple[int, float] | None:
        if self._stages is None:
            options = self.runner.environment.parsed_options
            text = options.loadlab_stages if options is not None else ""
            self._stages = parse_stages(text) if text else ()
        return shape_tick(self._stages, self.get_run_time())
