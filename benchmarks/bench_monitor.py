"""What watching the target costs: the monitor's own CPU, as a share of one core.

The issue allows 2 % of one core. The sampler runs alone in a child process (so nothing else is
counted) against the embedded platform, whose `/metrics` has been filled by requests to a dozen
routes so the scrape is as large as in a real run. The child reports its process CPU time over
the sampling period; the median of several runs is the result.

    .venv/bin/python benchmarks/bench_monitor.py [--seconds 60] [--runs 3] [--db-url URL]

Writes a Markdown table to stdout (copied into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from loadlab.monitor import Monitor, MonitorConfig
from loadlab.target import embedded_platform


def sample_alone(base_url: str, pid: int, seconds: float, db_url: str | None) -> None:
    """The child: sample for `seconds`, then print CPU seconds, wall seconds and samples."""
    warnings: list[str] = []
    config = MonitorConfig(base_url, pid, db_url=db_url)
    monitor = Monitor(config, clock_start=time.monotonic(), warn=warnings.append)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    monitor.start()
    time.sleep(seconds)
    result = monitor.stop()
    cpu_s, wall_s = time.process_time() - cpu_before, time.monotonic() - wall_before
    print(
        json.dumps(
            {
                "cpu_s": cpu_s,
                "wall_s": wall_s,
                "samples": len(result.samples),
                "sources": result.sources,
                "warnings": warnings,
            }
        )
    )


def fill_metrics(base_url: str, admin_key: str | None) -> int:
    """Requests to many routes, so /metrics carries as many series as after a real run."""
    headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        workspace = client.post("/api/v1/workspaces", json={"name": "bench"}).json()["id"]
        paths = [
            "/health",
            "/health/ready",
            "/api/v1/auth/me",
            "/api/v1/workspaces",
            f"/api/v1/workspaces/{workspace}",
            f"/api/v1/workspaces/{workspace}/workflows",
            f"/api/v1/workspaces/{workspace}/documents",
            f"/api/v1/workspaces/{workspace}/executions",
            f"/api/v1/workspaces/{workspace}/search?q=bench",
            "/api/v1/datasets",
            "/api/v1/analysis/samples",
            "/api/v1/admin/metrics",
            "/api/v1/admin/users",
            "/api/v1/workflows/missing",
        ]
        for _ in range(3):
            for path in paths:
                client.get(path)
        return len(client.get("/metrics").text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-url", default=None, help="also read PostgreSQL statistics views")
    parser.add_argument("--child", nargs=2, metavar=("BASE_URL", "PID"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sample_alone(args.child[0], int(args.child[1]), args.seconds, args.db_url)
        return
    with (
        tempfile.TemporaryDirectory() as scratch,
        embedded_platform(Path(scratch), seed_size="small") as target,
    ):
        size = fill_metrics(target.base_url, target.admin_key)
        runs = []
        for _ in range(args.runs):
            command = [sys.executable, __file__, "--seconds", str(args.seconds)]
            command += ["--child", target.base_url, str(target.pid)]
            if args.db_url:
                command += ["--db-url", args.db_url]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out))
    percents = [r["cpu_s"] / r["wall_s"] * 100 for r in runs]
    print(f"/metrics size: {size} bytes; interval 1 s; {args.seconds:g} s per run")
    print("| run | samples | CPU s | wall s | % of one core | sources |")
    print("|---|---|---|---|---|---|")
    for i, (run, percent) in enumerate(zip(runs, percents, strict=True), start=1):
        sources = ", ".join(f"{k}: {v}" for k, v in run["sources"].items())
        print(
            f"| {i} | {run['samples']} | {run['cpu_s']:.2f} | {run['wall_s']:.1f} | "
            f"{percent:.2f} | {sources} |"
        )
    print(f"\nmedian: {statistics.median(percents):.2f} % of one core (limit 2 %)")


if __name__ == "__main__":
    main()
