"""A Locust worker killed mid-run: the run names it and when, keeps what it measured, fails."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
from loadlab_process import base_env, locust_reported, start_loadlab, suite_args
from tiny_target import tiny_target

from waiting import wait_for


def test_a_killed_worker_fails_the_run_and_is_named(tmp_path: Path) -> None:
    results = tmp_path / "results"
    args = suite_args("locust")
    args[args.index("--workers") + 1] = "2"
    with (
        tiny_target() as target,
        start_loadlab(
            ["run", "smoke", *args, "--host", target.url, "--users", "4", "--spawn-rate", "4",
             "--run-time", "15s", "--threshold", "failures == 0"],
            env=base_env(tmp_path),
            results_dir=results,
        ) as running,
    ):  # fmt: skip
        wait_for(lambda: locust_reported(results), 60, "the workers' first report")
        workers = [
            p
            for p in psutil.Process(running.process.pid).children(recursive=True)
            if "--worker" in p.cmdline()
        ]
        assert len(workers) == 2
        workers[0].send_signal(signal.SIGKILL)
        finished = running.finish()
    assert finished.code == 1, finished.stdout + finished.stderr
    summary = finished.summary()
    [lost] = [t for t in summary["thresholds"] if t["metric"] == "lost_workers"]
    assert (lost["status"], lost["measured"], lost["source"]) == ("fail", 1, "locust")
    assert "lost" in lost["detail"]
    assert "s into the run" in lost["detail"]
    assert summary["totals"]["requests"] > 0  # what was measured is kept
    line = next(x for x in finished.stdout.splitlines() if "every Locust worker" in x)
    assert line.startswith("FAIL")
    assert "every Locust worker to the end" in summary["verdict"]["reason"]
    # said while the run went on, not only at its end
    assert "loadlab: Locust worker " in finished.stderr
    assert "the run cannot pass" in finished.stderr
