"""Locust's own example suites, copied verbatim (suites/locust_examples, MIT), run through loadlab
against a tiny local target as their authors wrote them; what is asserted is what they declare."""

from __future__ import annotations

from pathlib import Path

from loadlab_process import SUITES, base_env, engine_totals, start_loadlab
from tiny_target import tiny_target

EXAMPLES = SUITES / "locust_examples"
# example -> does it make HTTP requests (markov_taskset's users only print)
MAKES_REQUESTS = {"basic": True, "fast_http_locust": True, "events": True, "markov_taskset": False}


def _args(name: str, host: str) -> list[str]:
    return ["run", "smoke", "--engine", "locust", "--locustfile", str(EXAMPLES / f"{name}.py"),
            "--workers", "1", "--users", "2", "--spawn-rate", "2", "--run-time", "3s",
            "--host", host, "--threshold", "max < 10s"]  # fmt: skip


def test_locusts_examples_run_as_written(tmp_path: Path) -> None:
    with tiny_target() as target:
        running = {
            name: start_loadlab(
                _args(name, target.url),
                env=base_env(tmp_path),
                results_dir=tmp_path / name,
                timeout_s=120,
            )
            for name in MAKES_REQUESTS
        }
        finished = {name: process.finish() for name, process in running.items()}
    for name, done in finished.items():
        summary = done.summary()
        assert "Traceback" not in done.stderr, name
        assert summary["extra"]["engine_exit_code"] == 0, (name, done.stdout, done.stderr)
        assert done.code == summary["verdict"]["exit_code"], name
        totals = summary["totals"]
        assert (totals["requests"], totals["failures"]) == engine_totals(done.run_dir(), "locust")
        if MAKES_REQUESTS[name]:
            assert done.code == 0, (name, done.stdout)
            assert totals["requests"] > 0
        else:
            assert totals["requests"] == 0
            assert done.code == 1  # "max < 10s" with no request at all is no data, never a pass
            assert summary["thresholds"][0]["status"] == "no_data"
