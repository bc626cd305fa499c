"""The end of a Locust run: every request the workers made is counted, however late a worker's
last report would come (Locust's master waits 0.5 s for them when it quits)."""

from __future__ import annotations

from pathlib import Path

from loadlab_process import SUITES, base_env, engine_totals, run_loadlab
from tiny_target import tiny_target

USERS = 2


def test_a_worker_slow_to_stop_loses_no_request(tmp_path: Path) -> None:
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", "--engine", "locust", "--locustfile",
             str(SUITES / "slow_to_stop_locustfile.py"), "--workers", "1",
             "--users", str(USERS), "--spawn-rate", str(USERS), "--run-time", "4s",
             "--host", target.url, "--threshold", "failures == 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        )  # fmt: skip
        with target.lock:
            served = len(target.arrivals)
    totals = finished.summary()["totals"]
    assert totals["failures"] == 0, finished.stdout
    assert (totals["requests"], 0) == engine_totals(finished.run_dir(), "locust")
    # A user stopped mid-request is answered but not counted: at most one request per user.
    # Without the master's wait for the workers' last reports, the last seconds were lost.
    assert served - USERS <= totals["requests"] <= served, (served, totals["requests"])
