"""The small things a new user meets: progress past the plan, Ctrl-C acknowledged at once."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from loadlab_process import REPO, SUITES, base_env, loadlab_command
from tiny_target import tiny_target

from loadlab.histograms import LiveView
from loadlab.progress import format_line


def test_progress_never_counts_past_the_plan() -> None:
    line = format_line(50.0, 45.0, LiveView(3, 5, 1.0, 2.0, 10, 0))
    assert line.startswith("45s/45s stopping  ")
    assert "50s" not in line


def test_ctrl_c_is_acknowledged_before_the_verdict(tmp_path: Path) -> None:
    with tiny_target() as target:
        process = subprocess.Popen(
            [*loadlab_command(), "run", "smoke", "--engine", "k6", "--k6-script",
             str(SUITES / "paced_k6.js"), "--users", "1", "--spawn-rate", "1", "--run-time",
             "60s", "--host", target.url, "--results-dir", str(tmp_path), "--no-progress"],
            env=base_env(tmp_path),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not target.arrivals and time.monotonic() < deadline:
                time.sleep(0.05)
            assert target.arrivals, "the run never produced load"
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 4, stderr
    acknowledged = [line for line in stderr.splitlines() if "stopping the engine" in line]
    assert len(acknowledged) == 1
    assert "verdict: INTERRUPTED (exit 4)" in stdout
