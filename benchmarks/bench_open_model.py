"""The open model measured (docs/capacity.md, docs/benchmarks.md), against loadlab's tiny target.

    .venv/bin/python benchmarks/bench_open_model.py stall [--seconds 30]
    .venv/bin/python benchmarks/bench_open_model.py cost [--seconds 20] [--runs 3]

`stall`: a target that answers nothing for 1.5 s of every 10 s, run in the open model (20/s) and
in the closed model (2 users without think time); prints the pair of percentiles.
`cost`: what one Locust worker sustains against a fast target, closed (50 users, no think time)
and open (a rate it cannot reach, 50 in flight), in turns, median of the runs: the responses per
second each achieved, and their ratio.

Both run the real `loadlab run` against a target served from this process (tests/loadlab's
tiny_target), with a suite of one request per task written here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "loadlab"))
from tiny_target import tiny_target  # noqa: E402

SUITE = """
from locust import FastHttpUser, constant, task


class One(FastHttpUser):
    wait_time = constant(0)

    @task
    def one(self) -> None:
        self.client.get("/work", name="/work")
"""


def loadlab(host: str, suite: Path, results: Path, *load: str) -> tuple[dict[str, Any], Path]:
    command = [str(Path(sys.executable).with_name("loadlab")), "run", "smoke"]
    command += ["--locustfile", str(suite), "--workers", "1", "--host", host, *load]
    command += ["--threshold", "requests > 0", "--results-dir", str(results), "--no-progress"]
    subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    [run_dir] = [p for p in results.iterdir() if p.is_dir()]
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return summary, run_dir


def slow_samples(run_dir: Path, over_ms: float) -> int:
    """Responses slower than `over_ms` from the due time, from the raw samples (--keep-raw)."""
    return sum(
        float(line.split("\t")[2]) > over_ms
        for path in run_dir.glob("raw-*.tsv")
        for line in path.read_text().splitlines()
    )


def stall(seconds: float, scratch: Path, suite: Path) -> None:
    rows = []
    with tiny_target(stall=(10.0, 1.5)) as target:
        for model, load in (
            ("open model, `--rate 20/s`", ["--rate", "20/s", "--run-time", f"{seconds:g}s"]),
            ("closed model, `--users 2`", ["--users", "2", "--spawn-rate", "2",
                                           "--run-time", f"{seconds:g}s"]),
        ):  # fmt: skip
            results = scratch / model.split(" ")[0]
            summary, run_dir = loadlab(target.url, suite, results, *load, "--keep-raw")
            rows.append((model, summary["totals"], slow_samples(run_dir, 1000.0)))
    print(f"| run ({seconds:g} s) | requests | p50 | p99 | max | requests over 1 s |")
    print("|---|---|---|---|---|---|")
    for model, totals, slow in rows:
        print(
            f"| {model} | {totals['requests']} | {totals['p50_ms']:.1f} ms | "
            f"{totals['p99_ms']:.1f} ms | {totals['max_ms']:.1f} ms | {slow} |"
        )


def cost(seconds: float, runs: int, scratch: Path, suite: Path) -> None:
    achieved: dict[str, list[float]] = {"closed": [], "open": []}
    with tiny_target() as target:
        for run in range(runs):
            for model, load in (
                ("closed", ["--users", "50", "--spawn-rate", "50"]),
                ("open", ["--rate", "5000/s", "--max-in-flight", "50"]),
            ):
                results = scratch / f"{model}-{run}"
                summary, _ = loadlab(
                    target.url, suite, results, *load, "--run-time", f"{seconds:g}s"
                )
                totals = summary["totals"]
                achieved[model].append(totals["requests"] / max(1.0, summary["duration_s"]))
    ratios = [o / c for o, c in zip(achieved["open"], achieved["closed"], strict=True)]
    print("| run | closed req/s | open req/s | open / closed |")
    print("|---|---|---|---|")
    for i, (c, o, r) in enumerate(zip(achieved["closed"], achieved["open"], ratios, strict=True)):
        print(f"| {i + 1} | {c:.0f} | {o:.0f} | {r:.2f} |")
    closed, opened = statistics.median(achieved["closed"]), statistics.median(achieved["open"])
    print(
        f"\nmedian: closed {closed:.0f} req/s, open {opened:.0f} req/s; "
        f"ratio {statistics.median(ratios):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["stall", "cost"])
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        suite = Path(scratch) / "one_request.py"
        suite.write_text(SUITE)
        if args.what == "stall":
            stall(args.seconds or 30.0, Path(scratch), suite)
        else:
            cost(args.seconds or 20.0, args.runs, Path(scratch), suite)


if __name__ == "__main__":
    main()
