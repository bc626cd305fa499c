"""Baselines measured: `loadlab compare` over a 1,000-run history, and the false alarms and power
of the regression verdict on real runs of the embedded platform.

compare-time: a SQLite history of N runs (60 s each, two endpoints, per-second timelines and
encoded histograms, as `loadlab run` leaves them), then `loadlab compare` of the newest against
its default baseline (the last 5 passing runs) in a fresh child process: wall time (start-up and
SciPy's import included) and peak RSS (`ru_maxrss`). Goal: under 2 s.

error-rates: K runs of an unchanged platform, each compared with the runs before it (from the
third on, so that a baseline has two runs' spread), then M runs with PLATFORM_FAULT_LATENCY_MS
set to a quarter of the unchanged runs' median latency, each compared with the unchanged runs.
Counts how many were flagged `regressed` (goal: none of the unchanged, all of the slowed).

    .venv/bin/python benchmarks/bench_baselines.py compare-time [--runs 1000]
    .venv/bin/python benchmarks/bench_baselines.py error-rates [--unchanged 10] [--slowed 10]
        [--run-time 30s] [--users 5] [--engine k6] [--think-scale 1]

Writes Markdown to stdout (copied into docs/benchmarks.md); exits 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from loadlab.histograms import RunStats
from loadlab.history_store import HistoryStore, default_url
from loadlab.results import (
    MonitorData,
    PlanInfo,
    RunSummary,
    Stage,
    Target,
    Verdict,
)

REPO = Path(__file__).resolve().parents[1]
LOADLAB = Path(sys.executable).with_name("loadlab")
LIMITS = ["p50 +10%", "p95 +10%", "p99 +20%", "throughput -5%", "error_rate +0.05pp"]


def _synthetic(run_id: str, seed: int, seconds: int = 60) -> RunSummary:
    rng = np.random.default_rng(seed)
    stats = RunStats(0.0)
    for second in range(seconds):
        stats.set_users(second, 20)
        for name in ("/api/v1/workspaces", "/api/v1/auth/me"):
            for value in rng.lognormal(np.log(20.0), 0.35, 20):
                stats.add_sample(second, "GET", name, float(value), failed=False)
    client = stats.finish()
    return RunSummary(
        run_id=run_id,
        scenario="smoke",
        engine="k6",
        started_at="2026-12-01T00:00:00Z",
        finished_at="2026-12-01T00:01:00Z",
        duration_s=client.duration_s,
        interrupted=False,
        target=Target(host="http://127.0.0.1:1", embedded=True, database="sqlite"),
        plan=PlanInfo(20, 20.0, 60.0, (Stage(1.0, 20), Stage(59.0, 20))),
        totals=client.totals,
        endpoints=client.endpoints,
        errors=(),
        timeline=client.timeline,
        monitor=MonitorData(1.0, {}, (), {"steady_from_s": 1.0, "steady_to_s": 60.0}),
        thresholds=(),
        verdict=Verdict(passed=True, exit_code=0, reason="ok"),
        histograms=stats.encoded_histograms(),
    )


def compare_time(runs: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        store = HistoryStore(default_url(results))
        distinct = [_synthetic(f"seed{n}", n) for n in range(10)]
        started = time.perf_counter()
        for index in range(runs):
            store.record(dataclasses.replace(distinct[index % 10], run_id=f"run{index:05d}"), "x")
        record_s = (time.perf_counter() - started) / runs
        store.close()
        config = Path(tmp) / "loadlab.toml"
        config.write_text(f"[history]\nregressions = {json.dumps(LIMITS)}\n")
        size_mb = (results / "history.sqlite").stat().st_size / 1e6
        times = []
        for _ in range(3):
            began = time.perf_counter()
            done = subprocess.run(
                [str(LOADLAB), "compare", f"run{runs - 1:05d}", "--results-dir", str(results),
                 "--config", str(config)],
                capture_output=True, text=True, check=False, timeout=120,
            )  # fmt: skip
            times.append(time.perf_counter() - began)
            if done.returncode not in (0, 1):
                print(done.stderr, file=sys.stderr)
                return False
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        work_s = _in_process(results, runs)
    floor = []
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run([str(LOADLAB), "--version"], capture_output=True, check=True, timeout=60)
        floor.append(time.perf_counter() - began)
    median = statistics.median(times)
    print("| history | database size | record one run | `loadlab compare` (median of 3) "
          "| of which: `loadlab --version` | the comparison in process | peak RSS |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    print(f"| {runs:,} runs | {size_mb:.1f} MB | {record_s * 1000:.0f} ms | {median:.2f} s | "
          f"{statistics.median(floor):.2f} s | {work_s:.2f} s | {rss_mb:.0f} MB |")  # fmt: skip
    print(f"\nload average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return median < 2.0


def _in_process(results: Path, runs: int) -> float:
    """The comparison's own work (SciPy already imported): load, baseline, statistics, trend."""
    from loadlab.baselines import compare_run
    from loadlab.history_config import history_settings

    settings = history_settings({"regressions": LIMITS})
    store = HistoryStore(default_url(results))
    try:
        compare_run(store, store.load([f"run{runs - 1:05d}"])[0], settings)  # warm the imports
        began = time.perf_counter()
        compare_run(store, store.load([f"run{runs - 1:05d}"])[0], settings)
        return time.perf_counter() - began
    finally:
        store.close()


def _run(
    args: list[str], results: Path, history_url: str, env: dict[str, str]
) -> dict[str, object]:
    subprocess.run(
        [str(LOADLAB), "run", "smoke", *args, "--results-dir", str(results), "--no-progress",
         "--history-url", history_url, "--threshold", "requests > 0"],
        env=env, cwd=REPO, capture_output=True, check=False, timeout=900,
    )  # fmt: skip
    newest = max((p for p in results.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    summary: dict[str, object] = json.loads((newest / "summary.json").read_text())
    return summary


def _flagged(summary: dict[str, object]) -> tuple[bool, str]:
    comparison = summary.get("comparison")
    if not isinstance(comparison, dict):
        return False, "no baseline"
    totals = [c for c in comparison["changes"] if c["endpoint"] is None]
    said = ", ".join(
        f"{c['metric']} {c['verdict']}" + ("" if c["change"] is None else f" {c['change']:+.1f}")
        for c in totals
    )
    return any(c["verdict"] == "regressed" for c in totals), said


def error_rates(options: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        results.mkdir()
        (Path(tmp) / "loadlab.toml").write_text(f"[history]\nregressions = {json.dumps(LIMITS)}\n")
        url = default_url(Path(tmp) / "history")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
        env["LOAD_TEST_THINK_SCALE"] = str(options.think_scale)
        args = ["--engine", options.engine, "--users", str(options.users), "--spawn-rate",
                str(options.users), "--run-time", options.run_time,
                "--config", str(Path(tmp) / "loadlab.toml")]  # fmt: skip
        rows, medians, false_alarms, judged = [], [], 0, 0
        for index in range(options.unchanged):
            summary = _run(args, results, url, env)
            medians.append(float(summary["totals"]["p50_ms"]))  # type: ignore[index]
            flagged, said = _flagged(summary)
            if index >= 2:
                judged += 1
                false_alarms += flagged
            rows.append(
                f"| unchanged {index + 1} | {'**regressed**' if flagged else '-'} | {said} |"
            )
        fault_ms = round(0.25 * statistics.median(medians), 2)  # the fault takes fractions
        store = HistoryStore(url)
        pinned = [r["run_id"] for r in store.rows()][-5:]
        store.pin("smoke", options.engine, pinned)
        store.close()
        detected = 0
        for index in range(options.slowed):
            summary = _run(args, results, url, {**env, "PLATFORM_FAULT_LATENCY_MS": str(fault_ms)})
            flagged, said = _flagged(summary)
            detected += flagged
            rows.append(
                f"| +{fault_ms:g} ms {index + 1} | {'**regressed**' if flagged else '-'} | {said} |"
            )
    print(
        f"Unchanged median latency {statistics.median(medians):.2f} ms; slowed by {fault_ms:g} ms."
    )
    print()
    print("| run | verdict | changes (all requests) |")
    print("|---|---|---|")
    print("\n".join(rows))
    print()
    print(f"False alarms: {false_alarms} of {judged}; detected: {detected} of {options.slowed}.")
    return false_alarms == 0 and detected == options.slowed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    timing = commands.add_parser("compare-time")
    timing.add_argument("--runs", type=int, default=1000)
    rates = commands.add_parser("error-rates")
    rates.add_argument("--unchanged", type=int, default=10)
    rates.add_argument("--slowed", type=int, default=10)
    rates.add_argument("--run-time", default="30s")
    rates.add_argument("--users", type=int, default=5)
    rates.add_argument("--engine", default="k6")
    # The suites' think times scaled (LOAD_TEST_THINK_SCALE): 0.1 gives each user ten times the
    # requests, so each second's percentiles rest on more samples.
    rates.add_argument("--think-scale", type=float, default=1.0)
    options = parser.parse_args()
    ok = compare_time(options.runs) if options.command == "compare-time" else error_rates(options)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
