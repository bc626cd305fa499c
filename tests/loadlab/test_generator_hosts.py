"""Locust workers from another "host": `loadlab worker` beside `loadlab run --expect-workers`.

Here the other host is a second process on loopback; what is asserted (totals equal Locust's,
both workers counted and each one's requests adding up to them, a worker's clock 30 s ahead
corrected, too few workers or another suite refused with exit 3) does not depend on the
machine's speed.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from loadlab_process import (
    LOCUSTFILE,
    Finished,
    base_env,
    engine_totals,
    loadlab_command,
    run_loadlab,
)
from tiny_target import tiny_target

from platform_server import free_port
from process_harness import TestProcess

REPO = Path(__file__).resolve().parents[2]
LOAD = ["--users", "4", "--spawn-rate", "4", "--run-time", "4s", "--threshold", "failures == 0"]
# Debian's libfaketime (package faketime): a process whose wall clock is off, its monotonic clock
# (gevent's timers) left alone.
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def _worker(
    port: int, suite: Path, logs: Path, stack: ExitStack, env: Mapping[str, str] | None = None
) -> TestProcess:
    worker = TestProcess(
        [*loadlab_command(), "worker", "--master", f"127.0.0.1:{port}", "--processes", "1",
         "--locustfile", str(suite)],
        logs,
        env=env,
        cwd=REPO,
        name="loadlab-worker",
    )  # fmt: skip
    stack.callback(worker.close)
    return worker


def _run(target: str, suite: Path, port: int, tmp_path: Path, *extra: str) -> Finished:
    return run_loadlab(
        ["run", "smoke", "--engine", "locust", "--locustfile", str(suite), "--workers", "1",
         "--host", target, "--expect-workers", "1", "--master-bind", f"127.0.0.1:{port}",
         *LOAD, *extra],
        env=base_env(tmp_path),
        results_dir=tmp_path / "results",
    )  # fmt: skip


def test_a_remote_worker_adds_to_the_local_one(tmp_path: Path) -> None:
    port = free_port()
    with tiny_target() as target, ExitStack() as stack:
        worker = _worker(port, LOCUSTFILE, tmp_path / "logs", stack)
        finished = _run(target.url, LOCUSTFILE, port, tmp_path)
        worker.finish(60)  # the master's quit ends the remote workers too
    assert finished.code == 0, finished.stdout + finished.stderr
    run_dir = finished.run_dir()
    assert "2 workers connected" in (run_dir / "locust_master.log").read_text()
    summary = finished.summary()
    totals = summary["totals"]
    assert (totals["requests"], totals["failures"]) == engine_totals(run_dir, "locust")
    assert totals["requests"] > 0
    _assert_workers_add_up(summary)
    assert "worker 1 on " in finished.stdout or "worker 2 on " in finished.stdout


def _assert_workers_add_up(summary: dict[str, Any]) -> None:
    workers = summary["generators"]
    assert len(workers) == 2
    assert sum(w["requests"] for w in workers) == summary["totals"]["requests"]
    assert sum(w["failures"] for w in workers) == summary["totals"]["failures"]
    assert all(w["cpu_percent_max"] is not None and w["lost_at_s"] is None for w in workers)


def test_a_workers_clock_30s_ahead_still_fills_the_right_seconds(tmp_path: Path) -> None:
    if not FAKETIME.exists():
        pytest.skip("the clock-skew test needs Debian's faketime package (libfaketime)")
    skewed = {
        **base_env(tmp_path),
        "LD_PRELOAD": str(FAKETIME),
        "FAKETIME": "+30",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }
    port = free_port()
    with tiny_target() as target, ExitStack() as stack:
        worker = _worker(port, LOCUSTFILE, tmp_path / "logs", stack, env=skewed)
        finished = _run(target.url, LOCUSTFILE, port, tmp_path)
        worker.finish(60)
    assert finished.code == 0, finished.stdout + finished.stderr
    summary = finished.summary()
    _assert_workers_add_up(summary)
    offsets = sorted(round(w["clock_offset_s"]) for w in summary["generators"])
    assert offsets == [-30, 0]  # the local worker's clock is the master's
    # Uncorrected, the skewed worker's requests would fill seconds 30 s after the others.
    timeline = summary["timeline"]
    assert sum(p["requests"] for p in timeline) == summary["totals"]["requests"]
    seconds = [p["t_s"] for p in timeline if p["requests"]]
    assert max(seconds) - min(seconds) <= 4 + 3, seconds


def test_too_few_workers_is_exit_3(tmp_path: Path) -> None:
    with tiny_target() as target:
        finished = _run(
            target.url, LOCUSTFILE, free_port(), tmp_path, "--expect-workers-max-wait", "3"
        )
    assert finished.code == 3, finished.stdout + finished.stderr
    assert "locust exited" in finished.stdout


def test_a_worker_with_another_suite_is_refused(tmp_path: Path) -> None:
    (tmp_path / "master").mkdir()
    (tmp_path / "worker").mkdir()
    mine = shutil.copy(LOCUSTFILE, tmp_path / "master" / "suite.py")
    theirs = shutil.copy(LOCUSTFILE, tmp_path / "worker" / "suite.py")
    Path(theirs).write_text(Path(theirs).read_text() + "\n# an edit the master does not have\n")
    port = free_port()
    with tiny_target() as target, ExitStack() as stack:
        worker = _worker(port, Path(theirs), tmp_path / "logs", stack)
        finished = _run(target.url, Path(mine), port, tmp_path)
        worker.finish(60)
    assert finished.code == 3, finished.stdout + finished.stderr
    assert "runs a different suite" in finished.stdout


def test_an_open_model_run_shares_its_arrivals_with_a_remote_worker(tmp_path: Path) -> None:
    port = free_port()
    with tiny_target() as target, ExitStack() as stack:
        worker = _worker(port, LOCUSTFILE, tmp_path / "logs", stack)
        finished = run_loadlab(
            ["run", "smoke", "--engine", "locust", "--locustfile", str(LOCUSTFILE),
             "--workers", "1", "--host", target.url, "--expect-workers", "1",
             "--master-bind", f"127.0.0.1:{port}", "-E", "health",
             "--rate", "20/s", "--run-time", "3s", "--threshold", "failures == 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        )  # fmt: skip
        worker.finish(60)
    assert finished.code == 0, finished.stdout + finished.stderr
    summary = finished.summary()
    arrivals = summary["open_model"]
    assert arrivals["started"] + arrivals["dropped"] == 59  # each worker every second arrival
    assert summary["totals"]["requests"] == arrivals["started"]
    assert summary["open_model"]["service"]["requests"] == arrivals["started"]
