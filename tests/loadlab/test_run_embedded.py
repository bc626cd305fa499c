"""`loadlab run` end to end: real engines, the real embedded platform, a few seconds each."""

from __future__ import annotations

import signal
import socket
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import pytest
from loadlab_process import (
    Finished,
    Running,
    base_env,
    engine_totals,
    exact_percentile,
    raw_samples,
    run_loadlab,
    start_loadlab,
    suite_args,
)

from loadlab import history
from loadlab.target import cache_dir as cache_root
from loadlab.target import seeded_database
from waiting import wait_for

ENGINES = ["locust", "k6"]
SHORTENED = {
    "smoke": ["--users", "3", "--spawn-rate", "3", "--run-time", "2s"],
    "load": ["--users", "3", "--spawn-rate", "3", "--run-time", "2s"],
    "endurance": ["--users", "3", "--spawn-rate", "3", "--run-time", "2s", "-E", "health"],
    "stress": ["--users", "4", "--run-time", "3s"],
    "spike": ["--users", "4", "--run-time", "3s"],
}


@pytest.fixture(scope="module")
def cache_dir() -> Path:
    """The session's seeded-database cache (tests/conftest.py), built before the runs here, which
    would otherwise all wait on its lock at once."""
    seeded_database("small")
    return cache_root()


@pytest.mark.parametrize("engine", ENGINES)
def test_every_scenario_runs_on_both_engines(engine: str, cache_dir: Path, tmp_path: Path) -> None:
    """The five presets, shortened, at once: each is light, and together they stay quick."""
    with ExitStack() as stack:
        processes = {
            scenario: stack.enter_context(
                start_loadlab(
                    ["run", scenario, *suite_args(engine), *SHORTENED[scenario], "--keep-raw"],
                    env=base_env(cache_dir),
                    results_dir=tmp_path / scenario,
                )
            )
            for scenario in SHORTENED
        }
        finished = {scenario: process.finish() for scenario, process in processes.items()}
    requests = [_check_scenario(scenario, engine, done) for scenario, done in finished.items()]
    # A 2-3 s scenario on a machine busy enough may end before its first request; all five
    # cannot, so the checks of totals and percentiles above ran on real samples.
    assert sum(requests) > 0


def _check_duration(summary: dict[str, Any]) -> None:
    """Rates divide by the time from the first response to the last, from the engine's own
    times: inside the seconds that had responses, so never their count once they span 3."""
    loaded = [row["t_s"] for row in summary["timeline"] if row["requests"]]
    if len(loaded) < 2:
        return
    whole = loaded[-1] - loaded[0] + 1
    duration = summary["duration_s"]
    assert duration >= 1.0, (duration, loaded)  # a span under a second counts as one
    assert whole - 2 < duration <= whole, (duration, loaded)
    if whole >= 3:  # the span is then over a second: the engine's times, not whole seconds
        assert duration != whole, (duration, loaded)
    requests = summary["totals"]["requests"]
    assert summary["totals"]["rps"] == pytest.approx(requests / duration, rel=1e-3)


def _check_scenario(scenario: str, engine: str, finished: Finished) -> int:
    """Checks what holds whatever the machine's speed; returns the requests measured."""
    summary = finished.summary()
    assert finished.code == summary["verdict"]["exit_code"], (scenario, finished.stderr)
    assert (summary["scenario"], summary["engine"]) == (scenario, engine)
    assert summary["target"]["embedded"] is True
    # How many requests a few seconds make depends on the machine; what the verdict makes of the
    # measured values does not: a failure is 1, else too few samples is 5, else 0.
    statuses = {t["status"] for t in summary["thresholds"]}
    expected = 1 if statuses & {"fail", "no_data"} else 5 if "inconclusive" in statuses else 0
    assert finished.code == expected, (scenario, finished.stdout, finished.stderr)
    run_dir = finished.run_dir()
    totals = summary["totals"]
    assert (totals["requests"], totals["failures"]) == engine_totals(run_dir, engine), scenario
    raw = raw_samples(run_dir)
    assert len(raw) == totals["requests"], scenario
    for name, percentile in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        if raw:
            exact = exact_percentile(raw, percentile)
            assert totals[f"{name}_ms"] == pytest.approx(exact, rel=0.01, abs=0.002), (
                scenario,
                name,
            )
    assert sum(row["requests"] for row in summary["timeline"]) == totals["requests"]
    _check_duration(summary)
    assert len(finished.stdout.splitlines()) >= len(summary["thresholds"]) + 2
    assert (run_dir / ("locust_report.html" if engine == "locust" else "k6_summary.json")).exists()
    # Which endpoints a few seconds reach varies; none outside the suite's (and its tags') may.
    names = {endpoint["name"] for endpoint in summary["endpoints"]}
    assert names <= (
        {"/api/v1/auth/me"} if scenario == "endurance" else {"/api/v1/auth/me", "/health"}
    )
    (entry,) = history.read(finished.results_dir)
    assert (entry.run_id, entry.requests) == (summary["run_id"], totals["requests"])
    return int(totals["requests"])


def test_slow_target_fails_latency(cache_dir: Path, tmp_path: Path) -> None:
    engine = "k6"
    finished = run_loadlab(
        ["run", "smoke", *suite_args(engine), "--users", "6", "--spawn-rate", "6",
         "--run-time", "3s", "--threshold", "p50[GET /api/v1/auth/me] < 200ms",
         "--threshold", "p50[/health] < 200ms"],
        env=base_env(cache_dir, PLATFORM_FAULT_LATENCY_MS="250"),
        results_dir=tmp_path,
    )  # fmt: skip
    assert finished.code == 1, finished.stderr
    me, health = finished.summary()["thresholds"]
    assert me["status"] == "fail"
    assert me["measured"] >= 250
    assert health["status"] == "pass"  # /health is never faulted
    assert "FAIL" in finished.stdout


def test_failing_target_fails_error_rate(cache_dir: Path, tmp_path: Path) -> None:
    finished = run_loadlab(
        ["run", "smoke", *suite_args("k6"), "--users", "3", "--spawn-rate", "3", "--run-time", "2s",
         "--threshold", "error_rate < 1%"],
        env=base_env(cache_dir, PLATFORM_FAULT_ERROR_RATE="1"),
        results_dir=tmp_path,
    )  # fmt: skip
    assert finished.code == 1, finished.stderr
    summary = finished.summary()
    (error_rate,) = summary["thresholds"]
    assert error_rate["status"] == "fail"
    totals = summary["totals"]
    assert error_rate["measured"] == pytest.approx(100 * totals["failures"] / totals["requests"])
    assert summary["errors"]
    assert totals["failures"] == engine_totals(finished.run_dir(), "k6")[1]
    # Every faulted request failed and no other did: /health is never faulted.
    endpoints = {e["name"]: e for e in summary["endpoints"]}
    me, health = endpoints["/api/v1/auth/me"], endpoints["/health"]
    assert me["failures"] == me["requests"] > 0
    assert health["failures"] == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_closed_port_exits_3_quickly(engine: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        finished = run_loadlab(
            ["run", "smoke", *suite_args(engine), "--host", f"http://127.0.0.1:{port}"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
            timeout_s=30,
        )
    assert finished.code == 3  # at once: within timeout_s, where the run would take 2 minutes
    assert len(finished.stderr.strip().splitlines()) == 1
    assert "unreachable" in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_interrupt_writes_partial_results(engine: str, cache_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    with start_loadlab(
        ["run", "smoke", *suite_args(engine), "--users", "3", "--spawn-rate", "3",
         "--run-time", "60s"],
        env=base_env(cache_dir),
        results_dir=results,
    ) as running:  # fmt: skip
        _wait_for_load(results, running)
        running.process.signal(signal.SIGINT)
        finished = running.finish()
    assert finished.code == 4, finished.stderr
    run_dir = finished.run_dir()
    summary = finished.summary()
    assert summary["interrupted"] is True
    assert summary["verdict"]["exit_code"] == 4
    assert summary["duration_s"] < 60  # stopped before its planned end
    totals = summary["totals"]
    assert totals["requests"] > 0
    assert (totals["requests"], totals["failures"]) == engine_totals(run_dir, engine)


def _wait_for_load(results_dir: Path, running: Running) -> None:
    """Until the engine has measured responses: Locust's stream has stats, k6 reports progress."""

    def load_seen() -> bool:
        assert running.process.popen.poll() is None, running.process.explain()
        for run_dir in [p for p in results_dir.glob("*") if p.is_dir()]:
            stream = run_dir / "locust_loadlab.jsonl"
            if stream.exists() and '"type":"stats"' in stream.read_text():
                return True
            k6_log = run_dir / "k6_output.log"
            if k6_log.exists() and "running (" in k6_log.read_text():
                return True
        return False

    wait_for(load_seen, 90, "the run to produce load")


def test_second_interrupt_stops_everything_at_once(cache_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    with start_loadlab(
        ["run", "smoke", *suite_args("k6"), "--users", "3", "--spawn-rate", "3",
         "--run-time", "60s"],
        env=base_env(cache_dir),
        results_dir=results,
    ) as running:  # fmt: skip
        _wait_for_load(results, running)
        started = psutil.Process(running.process.pid).children(recursive=True)
        assert len(started) >= 2  # the platform and k6
        running.process.signal(signal.SIGINT)
        running.process.signal(signal.SIGINT)
        finished = running.finish()
    assert finished.code == 4
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []


def test_platform_that_cannot_start_exits_3(cache_dir: Path, tmp_path: Path) -> None:
    finished = run_loadlab(
        ["run", "smoke", *suite_args("k6")],
        env=base_env(cache_dir, PLATFORM_RATE_LIMIT_BURST="0"),  # refused by the platform
        results_dir=tmp_path,
        timeout_s=60,
    )
    assert finished.code == 3, finished.stderr
    errors = [line for line in finished.stderr.splitlines() if line.startswith("loadlab:")]
    assert len(errors) == 1
    assert "embedded platform exited" in errors[0]
    assert "platform.log" in errors[0]
    assert "Traceback" not in finished.stderr
