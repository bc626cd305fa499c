"""One clock per run: timestamps in timeline.csv and summary.json are those of the load itself.

The run is a first one (an empty cache, so loadlab builds the seeded database and starts the
platform before any load), which is when an early clock would show most. The suite's requests go
to a tiny server in the test, which notes when each arrived: the truth to compare with.
"""

from __future__ import annotations

import csv
import subprocess
from datetime import datetime
from pathlib import Path

from loadlab_process import REPO, SUITES, Finished, base_env, loadlab_command
from tiny_target import tiny_target


def test_timeline_timestamps_are_those_of_the_first_requests(tmp_path: Path) -> None:
    results = tmp_path / "results"
    with tiny_target() as probe:
        done = subprocess.run(  # progress on: a first run says what it waits for
            [*loadlab_command(), "run", "smoke", "--engine", "k6", "--k6-script",
             str(SUITES / "paced_k6.js"), "--users", "1", "--spawn-rate", "1", "--run-time", "2s",
             "--threshold", "requests > 0", "--results-dir", str(results)],
            env=base_env(tmp_path / "empty-cache", PROBE_URL=probe.url),
            cwd=REPO, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        first_request_s = probe.first_request_s()
    finished = Finished(done.returncode, done.stdout, done.stderr, results)
    assert finished.code == 0, finished.stdout + finished.stderr
    building = [
        line for line in finished.stderr.splitlines() if "building the small seeded" in line
    ]
    assert len(building) == 1
    assert "first run only: about 10 seconds" in building[0]
    summary = finished.summary()
    started_s = datetime.fromisoformat(summary["started_at"]).timestamp()
    assert "." in summary["started_at"]  # to the millisecond, not cut to whole seconds
    assert started_s <= first_request_s  # taken when load starts, before its first request
    with open(finished.run_dir() / "timeline.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    row_0 = int(rows[0]["Timestamp"])
    assert row_0 == int(started_s)  # the whole second in which load started
    assert abs(row_0 - first_request_s) < 2  # whole seconds: within one of the first request
    first_with_load = next(row for row in rows if int(row["Request Count"] or 0) > 0)
    assert abs(int(first_with_load["Timestamp"]) - first_request_s) < 1.5
