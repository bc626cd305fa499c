"""`loadlab run` end to end: real engines, the real embedded platform, a few seconds each."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from loadlab_process import (
    REPO,
    Finished,
    base_env,
    engine_totals,
    exact_percentile,
    loadlab_command,
    raw_samples,
    run_loadlab,
    start_loadlab,
    suite_args,
)

from loadlab import history

ENGINES = ["locust", "k6"]
SHORTENED = {
    "smoke": ["--users", "3", "--spawn-rate", "3", "--run-time", "2s"],
    "load": ["--users", "3", "--spawn-rate", "3", "--run-time", "2s"],
    "endurance": ["--users", "3", "--spawn-rate", "3", "--run-time", "2s", "-E", "health"],
    "stress": ["--users", "4", "--run-time", "3s"],
    "spike": ["--users", "4", "--run-time", "3s"],
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded-database cache for the module, built by a first short run before the others,
    which would otherwise all wait on its lock at once."""
    cache = tmp_path_factory.mktemp("loadlab-cache")
    finished = run_loadlab(
        ["run", "smoke", *suite_args("k6"), "--stages", "1s:1", "--threshold", "requests > 0"],
        env=base_env(cache),
        results_dir=tmp_path_factory.mktemp("warm-up"),
    )
    assert finished.code == 0, finished.stderr
    return cache


@pytest.mark.parametrize("engine", ENGINES)
def test_every_scenario_runs_on_both_engines(engine: str, cache_dir: Path, tmp_path: Path) -> None:
    """The five presets, shortened, at once: each is light, and together they stay quick."""
    processes = {
        scenario: start_loadlab(
            ["run", scenario, *suite_args(engine), *SHORTENED[scenario], "--keep-raw"],
            env=base_env(cache_dir),
            results_dir=tmp_path / scenario,
        )
        for scenario in SHORTENED
    }
    for scenario, process in processes.items():
        _check_scenario(scenario, engine, process.finish())


def _check_scenario(scenario: str, engine: str, finished: Finished) -> None:
    summary = finished.summary()
    assert finished.code == summary["verdict"]["exit_code"], (scenario, finished.stderr)
    assert finished.code in (0, 1, 5), (scenario, finished.stderr)
    assert (summary["scenario"], summary["engine"]) == (scenario, engine)
    assert summary["target"]["embedded"] is True
    if scenario == "smoke":  # 2 s may give fewer than the 100 requests p99 needs: inconclusive
        assert finished.code in (0, 5), finished.stdout
    run_dir = finished.run_dir()
    totals = summary["totals"]
    assert totals["requests"] > 0, scenario
    assert (totals["requests"], totals["failures"]) == engine_totals(run_dir, engine), scenario
    raw = raw_samples(run_dir)
    assert len(raw) == totals["requests"], scenario
    for name, percentile in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        exact = exact_percentile(raw, percentile)
        assert totals[f"{name}_ms"] == pytest.approx(exact, rel=0.01, abs=0.002), (scenario, name)
    assert sum(row["requests"] for row in summary["timeline"]) == totals["requests"]
    assert len(finished.stdout.splitlines()) >= len(summary["thresholds"]) + 2
    assert (run_dir / ("locust_report.html" if engine == "locust" else "k6_summary.json")).exists()
    names = {endpoint["name"] for endpoint in summary["endpoints"]}
    assert names == (
        {"/api/v1/auth/me"} if scenario == "endurance" else {"/api/v1/auth/me", "/health"}
    )
    (entry,) = history.read(finished.results_dir)
    assert (entry.run_id, entry.requests) == (summary["run_id"], totals["requests"])


def test_slow_target_fails_p95(cache_dir: Path, tmp_path: Path) -> None:
    engine = "k6"
    finished = run_loadlab(
        ["run", "smoke", *suite_args(engine), "--users", "6", "--spawn-rate", "6",
         "--run-time", "3s", "--threshold", "p95[GET /api/v1/auth/me] < 200ms",
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
        env=base_env(cache_dir, PLATFORM_FAULT_ERROR_RATE="0.5"),
        results_dir=tmp_path,
    )  # fmt: skip
    assert finished.code == 1, finished.stderr
    summary = finished.summary()
    (error_rate,) = summary["thresholds"]
    assert error_rate["status"] == "fail"
    assert 10 < error_rate["measured"] < 60
    assert summary["errors"]
    assert summary["totals"]["failures"] == engine_totals(finished.run_dir(), "k6")[1]


@pytest.mark.parametrize("engine", ENGINES)
def test_closed_port_exits_3_quickly(engine: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        started = time.monotonic()
        finished = run_loadlab(
            ["run", "smoke", *suite_args(engine), "--host", f"http://127.0.0.1:{port}"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
            timeout_s=30,
        )
    assert finished.code == 3
    assert time.monotonic() - started < 10
    assert len(finished.stderr.strip().splitlines()) == 1
    assert "unreachable" in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_interrupt_writes_partial_results(engine: str, cache_dir: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*loadlab_command(), "run", "smoke", *suite_args(engine), "--users", "3", "--spawn-rate",
         "3", "--run-time", "60s", "--results-dir", str(tmp_path), "--no-progress"],
        env=base_env(cache_dir),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        _wait_for_load(tmp_path, timeout_s=60)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 4, stderr
    finished = Finished(4, stdout, stderr, tmp_path)
    run_dir = finished.run_dir()
    summary = finished.summary()
    assert summary["interrupted"] is True
    assert summary["verdict"]["exit_code"] == 4
    assert summary["duration_s"] < 30
    totals = summary["totals"]
    assert totals["requests"] > 0
    assert (totals["requests"], totals["failures"]) == engine_totals(run_dir, engine)


def _wait_for_load(results_dir: Path, timeout_s: float) -> None:
    """Until the engine has measured responses: Locust's stream has stats, k6 reports progress."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run_dir in [p for p in results_dir.iterdir() if p.is_dir()]:
            stream = run_dir / "locust_loadlab.jsonl"
            if stream.exists() and '"type":"stats"' in stream.read_text():
                return
            k6_log = run_dir / "k6_output.log"
            if k6_log.exists() and "running (" in k6_log.read_text():
                return
        time.sleep(0.1)
    raise AssertionError("the run never produced load")


def test_second_interrupt_stops_everything_at_once(cache_dir: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*loadlab_command(), "run", "smoke", *suite_args("k6"), "--users", "3",
         "--spawn-rate", "3", "--run-time", "60s", "--results-dir", str(tmp_path), "--no-progress"],
        env=base_env(cache_dir),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_load(tmp_path, timeout_s=60)
        started = psutil.Process(process.pid).children(recursive=True)
        assert len(started) >= 2  # the platform and k6
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 4
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
