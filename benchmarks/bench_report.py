"""Rendering every report of a two-hour endurance run: time, peak memory and file sizes.

The issue's goal: the reports of a 2-hour run at 1,000 req/s render in under 10 s and 200 MB, and
the HTML file stays under 5 MB. The run is reproduced from synthetic HdrHistograms: every second
of every endpoint records a latency distribution (with a slow spell in the middle), the per-second
timeline and the per-endpoint totals are read from those histograms exactly as the engines' are,
and the monitor carries every series of docs/monitoring.md once a second.

Rendering runs in a fresh child process (`loadlab report`'s work: read summary.json, write every
output), so its peak RSS (`ru_maxrss`) is the rendering's alone.

    .venv/bin/python benchmarks/bench_report.py [--seconds 7200] [--rps 1000] [--runs 3]

Writes a Markdown table to stdout (copied into docs/benchmarks.md); exits 1 if a goal
is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from loadlab.results import (
    SCHEMA_VERSION,
    SUMMARY_FILE,
    EndpointStats,
    ErrorGroup,
    LatencyStats,
    MonitorData,
    PlanInfo,
    RunSummary,
    Stage,
    Target,
    ThresholdResult,
    TimelinePoint,
    Verdict,
)

GOAL_SECONDS = 10.0
GOAL_RSS_BYTES = 200 * 1024 * 1024
GOAL_HTML_BYTES = 5 * 1024 * 1024

ENDPOINTS = (
    ("GET", "/health", 0.10, 2.0),
    ("GET", "/api/v1/workspaces", 0.20, 12.0),
    ("POST", "/api/v1/workspaces", 0.05, 25.0),
    ("GET", "/api/v1/workspaces/{workspace_id}/workflows", 0.20, 18.0),
    ("POST", "/api/v1/workflows", 0.05, 30.0),
    ("GET", "/api/v1/workflows/{workflow_id}", 0.20, 9.0),
    ("POST", "/api/v1/workflows/{workflow_id}/executions", 0.15, 60.0),
    ("GET", "/api/v1/knowledge/search", 0.05, 80.0),
)
MONITOR_SERIES = [
    "target_cpu_percent",
    "target_rss_bytes",
    "target_threads",
    "target_open_fds",
    "target_disk_read_bytes_per_s",
    "target_disk_write_bytes_per_s",
    "target_net_sent_bytes_per_s",
    "target_net_recv_bytes_per_s",
    "host_cpu_percent",
    "host_memory_used_bytes",
    "generator_cpu_percent",
    "generator_max_process_cpu_percent",
    "server_rps",
    "server_error_rate",
    "server_p50_ms",
    "server_p95_ms",
    "server_p99_ms",
    "server_in_flight",
    "db_query_p95_ms",
    "db_pool_size",
    "db_pool_checked_out",
    "db_pool_overflow",
    "db_pool_waiters",
    "db_pool_wait_p95_ms",
    "db_busy_waits_per_s",
    "db_lock_waits",
    "db_deadlocks",
    "cache_hit_rate",
]
# Relative latencies recorded per endpoint and second, with their share of the requests.
SHAPE = ((0.4, 0.30), (0.7, 0.25), (1.0, 0.20), (1.5, 0.12), (2.5, 0.08), (5.0, 0.04), (12, 0.01))


def _stats(histogram: HdrHistogram, requests: int, failures: int, seconds: float) -> dict[str, Any]:
    empty = histogram.get_total_count() == 0
    percentiles = histogram.get_percentile_to_value_dict([50, 90, 95, 99, 99.9])

    def value(v: float) -> float | None:
        return None if empty else float(v)

    return {
        "requests": requests,
        "failures": failures,
        "error_rate": failures / requests if requests else 0.0,
        "rps": requests / seconds,
        "mean_ms": value(histogram.get_mean_value()),
        "min_ms": value(histogram.get_min_value()),
        "max_ms": value(histogram.get_max_value()),
        "p50_ms": value(percentiles[50]),
        "p90_ms": value(percentiles[90]),
        "p95_ms": value(percentiles[95]),
        "p99_ms": value(percentiles[99]),
        "p999_ms": value(percentiles[99.9]),
    }


def build_summary(seconds: int, rps: int) -> RunSummary:
    """A run of `seconds` at `rps`, its numbers read from per-second HdrHistograms."""
    rng = random.Random(7)
    totals = [HdrHistogram(1, 600_000, 3) for _ in ENDPOINTS]
    counts = [[0, 0] for _ in ENDPOINTS]
    timeline: list[TimelinePoint] = []
    samples: list[dict[str, float | None]] = []
    for t in range(seconds):
        slow = 3.0 if seconds * 0.45 <= t < seconds * 0.47 else 1.0
        second = HdrHistogram(1, 600_000, 3)
        failures = 0
        for index, (_method, _name, share, base_ms) in enumerate(ENDPOINTS):
            requests = round(rps * share * rng.uniform(0.95, 1.05))
            failed = rng.randint(0, 3) if slow > 1 else 0
            for factor, weight in SHAPE:
                latency = max(1, round(base_ms * factor * slow * rng.uniform(0.9, 1.1)))
                count = max(1, round(requests * weight))
                second.record_value(latency, count)
                totals[index].record_value(latency, count)
            counts[index][0] += requests
            counts[index][1] += failed
            failures += failed
        p = second.get_percentile_to_value_dict([50, 95, 99])
        requests_now = second.get_total_count()
        timeline.append(
            TimelinePoint(t, 100, requests_now, failures, float(requests_now), p[50], p[95], p[99])
        )
        sample: dict[str, float | None] = {n: rng.uniform(0, 100) for n in MONITOR_SERIES}
        sample["t_s"] = t + 0.5
        sample["target_rss_bytes"] = 200_000_000 + t * 1_500 + rng.uniform(0, 1e6)
        samples.append(sample)
    endpoints = tuple(
        EndpointStats(**_stats(h, c[0], c[1], seconds), method=m, name=n)
        for h, c, (m, n, _s, _b) in zip(totals, counts, ENDPOINTS, strict=True)
    )
    overall = HdrHistogram(1, 600_000, 3)
    for histogram in totals:
        overall.add(histogram)
    requests = sum(c[0] for c in counts)
    failures = sum(c[1] for c in counts)
    total_stats = LatencyStats(**_stats(overall, requests, failures, seconds))
    return RunSummary(
        run_id="20261125-100000-endurance-bench",
        scenario="endurance",
        engine="locust",
        started_at="2026-11-25T10:00:00Z",
        finished_at="2026-11-25T12:00:00Z",
        duration_s=float(seconds),
        interrupted=False,
        target=Target("http://127.0.0.1:41234", embedded=True, pid=1, database="postgresql"),
        plan=PlanInfo(100, 10.0, float(seconds), (Stage(float(seconds), 100),)),
        totals=total_stats,
        endpoints=endpoints,
        errors=tuple(
            ErrorGroup("POST", ENDPOINTS[6][1], f"HTTP 503: pool exhausted #{i}", 10 + i)
            for i in range(300)
        ),
        timeline=tuple(timeline),
        monitor=MonitorData(1.0, {"app": "ok", "system": "ok"}, tuple(samples), {}),
        thresholds=(
            ThresholdResult(
                "p95 < 500ms", "p95", None, "<", 500.0, "ms", total_stats.p95_ms, "pass"
            ),
        ),
        verdict=Verdict(True, 0, "all 1 thresholds passed"),
        schema_version=SCHEMA_VERSION,
    )


def render_child(run_dir: str) -> None:
    """The child: read summary.json, write every report, print the measurements as JSON."""
    from loadlab.reports import write_reports
    from loadlab.reports.line_protocol import summary_lines

    started = time.perf_counter()
    summary = RunSummary.read(Path(run_dir))
    loaded = time.perf_counter()
    written = write_reports(summary, Path(run_dir))
    # The InfluxDB output without a server: every line encoded, as it would be sent.
    influx_bytes = sum(len(text) + 1 for text in summary_lines(summary))
    done = time.perf_counter()
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "read_s": loaded - started,
                "render_s": done - loaded,
                "total_s": done - started,
                "rss_bytes": maxrss_kib * 1024,
                "files": {p.name: p.stat().st_size for p in written},
                "influx_bytes": influx_bytes,
            }
        )
    )


def _mb(size: float) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=7_200)
    parser.add_argument("--rps", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        render_child(args.child)
        return
    started = time.perf_counter()
    summary = build_summary(args.seconds, args.rps)
    built_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run_dir = Path(tmp)
        summary.write(run_dir)
        summary_bytes = (run_dir / SUMMARY_FILE).stat().st_size
        results = []
        for _ in range(args.runs):
            for path in run_dir.iterdir():
                if path.name != SUMMARY_FILE:
                    path.unlink()
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(run_dir)],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            results.append(json.loads(child.stdout))
    total_s = statistics.median(r["total_s"] for r in results)
    rss = max(r["rss_bytes"] for r in results)
    files = results[-1]["files"]
    html = files["report.html"]
    print(
        f"Synthetic run: {args.seconds} s at {args.rps} req/s "
        f"({summary.totals.requests:,} requests, {len(summary.timeline):,} timeline points, "
        f"{len(summary.monitor.samples):,} monitor samples of {len(MONITOR_SERIES)} series); "
        f"built in {built_s:.1f} s; summary.json {_mb(summary_bytes)}.\n"
    )
    print("| measure | median of runs | goal |")
    print("|---|---|---|")
    read_s = statistics.median(r["read_s"] for r in results)
    render_s = statistics.median(r["render_s"] for r in results)
    print(f"| read summary.json | {read_s:.2f} s | |")
    print(f"| render every output (files and InfluxDB lines) | {render_s:.2f} s | |")
    print(f"| total (read + render) | {total_s:.2f} s | < {GOAL_SECONDS:.0f} s |")
    print(f"| peak RSS of the process (max) | {_mb(rss)} | < {_mb(GOAL_RSS_BYTES)} |")
    print(f"| report.html | {_mb(html)} | < {_mb(GOAL_HTML_BYTES)} |")
    for name, size in sorted(files.items()):
        if name != "report.html":
            print(f"| {name} | {_mb(size)} | |")
    print(f"| InfluxDB line protocol (not sent) | {_mb(results[-1]['influx_bytes'])} | |")
    print(f"\n{args.runs} runs; Python {sys.version.split()[0]}; {math.ceil(rss / 1e6)} MB peak.")
    if total_s >= GOAL_SECONDS or rss >= GOAL_RSS_BYTES or html >= GOAL_HTML_BYTES:
        print("a goal was missed", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
