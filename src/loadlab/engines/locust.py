"""Locust as the engine: a headless master and one worker process per core, each a subprocess.

loadlab's plugin rides beside the locustfile (`-f suite.py,plugin.py`); it follows the stages as a
load shape and writes exact histograms to a JSON-lines file, which this module tails.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from loadlab.engines.base import (
    EngineContext,
    EngineResult,
    find_binary,
    last_line,
    suite_environment,
)
from loadlab.engines.locust_shape import own_shape
from loadlab.engines.locust_workers import WorkerTally, saturated_names
from loadlab.histograms import decode
from loadlab.processes import kill_group, wait_or_kill
from loadlab.rates import format_rate_stages
from loadlab.results import Stage, ThresholdResult
from loadlab.stages import format_stages
from loadlab.target import free_port
from loadlab.verdict import SATURATION_PERCENT

if TYPE_CHECKING:
    from loadlab.plan import RunPlan

PLUGIN_FILE = "loadlab_plugin.py"
STREAM_FILE = "locust_loadlab.jsonl"
CSV_PREFIX = "locust"
HTML_FILE = "locust_report.html"
MASTER_LOG = "locust_master.log"


def load_args(plan: RunPlan, workers: int) -> list[str]:
    """What both roles are told of the plan's load beside the stages: the tags, and in the open
    model the rate stages, the most in flight and how many workers share the arrivals."""
    args = ["--tags", *plan.tags] if plan.tags else []
    args += ["--exclude-tags", *plan.exclude_tags] if plan.exclude_tags else []
    if plan.open_model:
        args += ["--loadlab-rate-stages", format_rate_stages(plan.rate_stages)]
        args += ["--loadlab-max-in-flight", str(plan.max_in_flight)]
        args += ["--loadlab-workers", str(workers)]
    return args


def plugin_path() -> Path:
    return Path(str(resources.files("loadlab.locust_plugin").joinpath(PLUGIN_FILE)))


class LocustEngine:
    name = "locust"

    binary = "locust"
    install_hint = "pip install locust"
    script_option = "--locustfile"
    script_short_option: str | None = "-f"  # Locust's own spelling
    script_setting = "locustfile"  # the key in loadlab.toml's [defaults]
    default_script = "load_tests/locustfile.py"
    script_help = f"Locust suite (default {default_script})."
    remote_workers = True  # `loadlab worker` on other hosts joins the master (generators.py)

    @staticmethod
    def workers(requested: int | None) -> tuple[int, str | None]:
        """Local worker processes: as asked (0 with remote ones only), or one per core."""
        return (os.cpu_count() or 1) if requested is None else requested, None

    @staticmethod
    def generator_cores() -> float:
        """Each Locust worker is one single-threaded process: saturated past 90 % of one core."""
        return 1.0

    @staticmethod
    def stage_problems(stages: Sequence[Stage]) -> list[str]:
        """Locust's shape follows stages of any length: nothing to refuse."""
        return []

    @staticmethod
    def own_profile(script: Path) -> str | None:
        """The suite's own load shape, defined or imported there: loadlab follows it then."""
        shape = own_shape(script)
        return None if shape is None else f"the suite's own LoadTestShape ({shape})"

    def __init__(self, context: EngineContext) -> None:
        self._context = context
        self._master: subprocess.Popen[bytes] | None = None
        self._workers: list[subprocess.Popen[bytes]] = []
        self._stream: IO[str] | None = None
        self._partial = ""
        self._process_exit_code: int | None = None  # what the suite set, if it did
        self._started_at = 0.0
        # Workers lost during the load: (index, seconds into the run, Locust's client id), and
        # the indexes of those that came back.
        self._lost: list[tuple[int, float, str]] = []
        self._back: set[int] = set()
        self._mismatch: str | None = None  # a worker whose suite is not the master's
        self._notices: list[str] = []
        self._tally = WorkerTally()
        self._master_cpu_max: float | None = None  # Locust's own view of its master's CPU

    def start(self) -> None:
        binary = find_binary(self.binary, hint=self.install_hint)
        plan = self._context.plan
        run_dir = self._context.run_dir
        files = f"{plan.script},{plugin_path()}"
        hosts = plan.generators
        port = hosts.bind_port or free_port()
        expected = plan.workers + hosts.remote
        env = suite_environment(self._context)
        tag_args = load_args(plan, expected)
        raw_args = ["--loadlab-raw-dir", str(run_dir)] if plan.keep_raw else []
        master = [
            binary, "-f", files, "--headless", "--master",
            "--expect-workers", str(expected),
            "--expect-workers-max-wait", f"{hosts.wait_s:g}",
            "--master-bind-host", hosts.bind_host, "--master-bind-port", str(port),
            "--host", self._context.target.base_url,
            "--csv", str(run_dir / CSV_PREFIX), "--html", str(run_dir / HTML_FILE),
            "--loadlab-out", str(run_dir / STREAM_FILE),
            *(["--loadlab-stages", format_stages(plan.stages, exact=True)] if plan.stages else []),
            "--exit-code-on-error", "0", "--only-summary",
            *tag_args,
        ]  # fmt: skip
        worker = [
            binary, "-f", files, "--worker",
            "--master-host", _local(hosts.bind_host), "--master-port", str(port),
            *tag_args, *raw_args,
        ]  # fmt: skip
        self._started_at = time.time()
        self._master = _spawn(master, env, run_dir / MASTER_LOG)
        self._workers = [
            _spawn(worker, env, run_dir / f"locust_worker_{index}.log")
            for index in range(plan.workers)
        ]

    def notices(self) -> list[str]:
        said, self._notices = self._notices, []
        return said

    def pids(self) -> list[int]:
        processes = [self._master, *self._workers] if self._master else []
        return [p.pid for p in processes if p is not None and p.poll() is None]

    def poll(self) -> bool:
        self._read_stream()
        return self._master is not None and self._master.poll() is None

    def stop(self, *, force: bool) -> None:
        if force:
            for process in [self._master, *self._workers]:
                if process is not None and process.poll() is None:
                    kill_group(process)
        elif self._master is not None and self._master.poll() is None:
            # SIGINT, not SIGTERM: during a shape test Locust has not yet installed its SIGTERM
            # handler (SIGTERM kills it outright), while SIGINT stops the users, collects the
            # workers' last reports and writes the CSV and HTML before it exits.
            self._master.send_signal(signal.SIGINT)

    def finish(self) -> EngineResult:
        run_dir = self._context.run_dir
        code = None if self._master is None else wait_or_kill(self._master, 120.0)
        for worker in self._workers:
            if wait_or_kill(worker, 15.0) is None:
                kill_group(worker)
        self._read_stream()
        if self._stream is not None:
            self._stream.close()
        requests, failures = _aggregated_row(run_dir / f"{CSV_PREFIX}_stats.csv")
        suite_code = self._process_exit_code
        # A suite's own process_exit_code is its verdict, not an engine failure.
        failed = code != 0 and not (suite_code is not None and code == suite_code)
        message = None
        if self._mismatch is not None:
            failed, message = True, self._mismatch
        elif failed:
            detail = last_line(run_dir / MASTER_LOG) or "no output"
            message = f"locust exited with code {code}: {detail} (see {run_dir / MASTER_LOG})"
        outputs = tuple(
            sorted(
                p.name for p in run_dir.iterdir() if p.name.startswith(CSV_PREFIX) and p.is_file()
            )
        )
        workers = self._tally.result()
        return EngineResult(
            code,
            failed,
            message,
            outputs,
            requests,
            failures,
            suite_results=(
                *(() if suite_code is None else (_suite_verdict(suite_code),)),
                *((_lost_verdict(self._lost, self._back),) if self._lost else ()),
            ),
            workers=workers,
            saturation=saturated_names(workers) + _master_saturation(self._master_cpu_max),
        )

    def _read_stream(self) -> None:
        if self._stream is None:
            path = self._context.run_dir / STREAM_FILE
            if not path.exists():
                return
            self._stream = open(path, encoding="utf-8")  # noqa: SIM115
        chunk = self._stream.read()
        if not chunk:
            return
        lines = (self._partial + chunk).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line:
                self._ingest(json.loads(line))
        self._context.stats.close_settled()

    def _ingest(self, record: dict[str, Any]) -> None:
        stats = self._context.stats
        if record["type"] == "stats":
            for second, method, name, encoded, requests, failures, sum_ms, *service in record[
                "entries"
            ]:
                stats.add_histogram(
                    second,
                    method,
                    name,
                    decode(encoded),
                    requests=requests,
                    failures=failures,
                    sum_ms=sum_ms,
                    service=(decode(service[0]), float(service[1])) if service else None,
                )
            span = record.get("span")
            if span:
                stats.note_span(float(span[0]), float(span[1]))
            started, dropped, late = record.get("arrivals") or (0, 0, 0)
            if self._context.plan.open_model:
                stats.add_arrivals(started=started, dropped=dropped, late=late)
            for method, name, message, occurrences in record["errors"]:
                stats.add_error(method, name, message, occurrences)
            self._tally.stats(record["worker"], record["entries"], record.get("offset_s", 0.0))
        elif record["type"] == "worker":
            self._tally.host(record["worker"], record["host"])
        elif record["type"] == "suite_exit":
            code = record.get("process_exit_code")
            self._process_exit_code = code if isinstance(code, int) else None
        elif record["type"] in ("worker_lost", "worker_back", "suite_mismatch"):
            self._worker_event(record)
        elif record["type"] == "users":
            self._users(record)

    def _users(self, record: dict[str, Any]) -> None:
        """The master's second: users running, and the CPU of each worker and of itself."""
        stats = self._context.stats
        stats.set_users(int(record["t"]), int(record["users"]))
        if record.get("worker_cpu_max") is not None:
            stats.note_generator_cpu(float(record["worker_cpu_max"]))
        self._tally.cpu(record.get("workers") or {})
        master_cpu = record.get("master_cpu")
        if master_cpu is not None:
            self._master_cpu_max = max(float(master_cpu), self._master_cpu_max or 0.0)

    def _worker_event(self, record: dict[str, Any]) -> None:
        """A worker lost or back (no heartbeat), or one running another suite than the master."""
        if record["type"] == "worker_lost":
            at_s = float(record["t"]) - self._started_at
            self._lost.append((int(record["index"]), at_s, str(record["worker"])))
            self._tally.lost(str(record["worker"]), int(record["index"]), at_s)
            self._notices.append(
                f"Locust worker {record['index']} ({record['worker']}) lost {at_s:.0f}s into "
                "the run (no heartbeat for 3 s): the run cannot pass"
            )
        elif record["type"] == "worker_back":
            self._back.add(int(record["index"]))
            self._notices.append(f"Locust worker {record['index']} ({record['worker']}) is back")
        else:
            self._mismatch = (
                f"worker {record['worker']} on {record['host']} runs a different suite (hash "
                f"{record['hash']}, the master's {record['master_hash']}): give every generator "
                "host the same suite files, at the same path"
            )


def _suite_verdict(code: int) -> ThresholdResult:
    return ThresholdResult(
        expression="environment.process_exit_code == 0",
        metric="process_exit_code",
        endpoint=None,
        operator="==",
        limit=0.0,
        unit="count",
        measured=float(code),
        status="pass" if code == 0 else "fail",
        detail="set by the suite (its own verdict)",
        source="locust",
    )


def _local(bind_host: str) -> str:
    """Where this machine's own workers reach a master bound to `bind_host`."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "localhost": "127.0.0.1"}.get(bind_host, bind_host)


def _lost_verdict(lost: list[tuple[int, float, str]], back: set[int]) -> ThresholdResult:
    """A run that lost load generators never passes: it did not send the load it planned."""
    named = "; ".join(
        f"worker {index} ({client_id}) lost {at_s:.0f}s into the run"
        + (", back later" if index in back else "")
        for index, at_s, client_id in lost
    )
    return ThresholdResult(
        expression="every Locust worker to the end",
        metric="lost_workers",
        endpoint=None,
        operator="==",
        limit=0.0,
        unit="count",
        measured=float(len({index for index, _, _ in lost})),
        status="fail",
        detail=f"{named} (no heartbeat for 3 s); what it measured before is kept",
        source="locust",
    )


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _aggregated_row(path: Path) -> tuple[int | None, int | None]:
    """Locust's own final totals, to be shown beside ours (they must be equal)."""
    if not path.exists():
        return None, None
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            if row.get("Name") == "Aggregated":
                return int(row["Request Count"]), int(row["Failure Count"])
    return None, None


def _master_saturation(cpu_max: float | None) -> tuple[str, ...]:
    """The master merges every worker's reports on one core; Locust itself warns past 90 %."""
    if cpu_max is None or cpu_max <= SATURATION_PERCENT:
        return ()
    return (f"the Locust master ({cpu_max:.0f}% of a core)",)
