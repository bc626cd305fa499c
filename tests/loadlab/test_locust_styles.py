"""Locustfiles written the ways Locust's documentation describes (suites/locust_styles: plain
task functions, FastHttpUser, event hooks, a MarkovTaskSet) run through loadlab against a tiny
local target as written; what is asserted is what holds however busy the machine is."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from loadlab_process import SUITES, base_env, engine_totals, start_loadlab
from tiny_target import tiny_target

STYLES = SUITES / "locust_styles"
SUITES_HERE = ("plain_functions", "fast_http", "event_hooks", "markov")


def _args(name: str, host: str) -> list[str]:
    return ["run", "smoke", "--engine", "locust", "--locustfile", str(STYLES / f"{name}.py"),
            "--workers", "1", "--users", "2", "--spawn-rate", "2", "--run-time", "3s",
            "--host", host, "--threshold", "max < 10s"]  # fmt: skip


def test_locust_suites_run_as_written(tmp_path: Path) -> None:
    with tiny_target() as target, ExitStack() as stack:
        running = {
            name: stack.enter_context(
                start_loadlab(
                    _args(name, target.url),
                    env=base_env(tmp_path),
                    results_dir=tmp_path / name,
                    timeout_s=120,
                )
            )
            for name in SUITES_HERE
        }
        finished = {name: process.finish() for name, process in running.items()}
    for name, done in finished.items():
        summary = done.summary()
        assert "Traceback" not in done.stderr, name
        assert summary["extra"]["engine_exit_code"] == 0, (name, done.stdout, done.stderr)
        assert done.code == summary["verdict"]["exit_code"], name
        totals = summary["totals"]
        assert (totals["requests"], totals["failures"]) == engine_totals(done.run_dir(), "locust")
        assert totals["failures"] == 0, name
        # Each suite's first action is a request (the Markov journey's first state, `arrive`,
        # is one): made as its first user starts, which the shape asks for at its first tick, at
        # 0 s of the 3 s. So every run has requests, and "max < 10s" passes on any of them.
        assert totals["requests"] > 0, (name, done.stdout)
        assert done.code == 0, (name, done.stdout)
