"""Running the real `loadlab` command in tests, and reading what it wrote.

Imported by the end-to-end tests; not a test module itself.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from platform_server import NO_POOL
from process_harness import TestProcess

REPO = Path(__file__).resolve().parents[2]
SUITES = Path(__file__).parent / "suites"
LOCUSTFILE = SUITES / "health_locustfile.py"
K6_SCRIPT = SUITES / "health_k6.js"
SCHEMA = REPO / "src" / "loadlab" / "schema" / "summary.schema.json"


def loadlab_command() -> list[str]:
    beside = Path(sys.executable).with_name("loadlab")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-c", "from loadlab.cli import main; main()"]


def suite_args(engine: str) -> list[str]:
    if engine == "k6":
        return ["--engine", "k6", "--k6-script", str(K6_SCRIPT)]
    return ["--engine", "locust", "--locustfile", str(LOCUSTFILE), "--workers", "1"]


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str
    results_dir: Path

    def run_dir(self) -> Path:
        runs = sorted(p for p in self.results_dir.iterdir() if p.is_dir())
        assert len(runs) == 1, f"expected one run folder, found {runs}\n{self.stderr}"
        return runs[0]

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir() / "summary.json").read_text())
        jsonschema.validate(data, json.loads(SCHEMA.read_text()))
        return data


class Running:
    """A loadlab process started in the background; `finish` waits for it (and kills on timeout).

    Used as a context manager, it is interrupted and reaped on the way out whatever happened.
    """

    def __init__(self, process: TestProcess, results_dir: Path, timeout_s: float) -> None:
        self.process = process
        self.results_dir = results_dir
        self.timeout_s = timeout_s

    def finish(self) -> Finished:
        try:
            done = self.process.finish(self.timeout_s)
        finally:
            self.process.close()
        return Finished(done.code, done.stdout, done.stderr, self.results_dir)

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.process.close()


def start_loadlab(
    args: list[str],
    *,
    env: dict[str, str],
    results_dir: Path,
    timeout_s: float = 90.0,
    prefix: Sequence[str] = (),
) -> Running:
    """`prefix`: what runs loadlab, e.g. `ip netns exec NAME` (netns.py)."""
    logs = results_dir.parent / f"{results_dir.name}-logs"
    process = TestProcess(
        [*prefix, *loadlab_command(), *args, "--results-dir", str(results_dir), "--no-progress"],
        logs,
        env=env,
        cwd=REPO,
        name="loadlab",
    )
    return Running(process, results_dir, timeout_s)


def run_loadlab(
    args: list[str], *, env: dict[str, str], results_dir: Path, timeout_s: float = 90.0
) -> Finished:
    return start_loadlab(args, env=env, results_dir=results_dir, timeout_s=timeout_s).finish()


def locust_reported(results_dir: Path) -> bool:
    """True once a Locust master of a run in `results_dir` wrote a worker's first stats report."""
    for stream in results_dir.glob("*/locust_loadlab.jsonl"):
        if any(json.loads(line)["type"] == "stats" for line in stream.read_text().splitlines()):
            return True
    return False


def engine_totals(run_dir: Path, engine: str) -> tuple[int, int]:
    """The engine's own final totals, read from its own output files."""
    if engine == "k6":
        metrics = json.loads((run_dir / "k6_summary.json").read_text())["metrics"]
        return int(metrics["http_reqs"]["count"]), int(metrics["http_req_failed"]["passes"])
    with open(run_dir / "locust_stats.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] == "Aggregated":
                return int(row["Request Count"]), int(row["Failure Count"])
    raise AssertionError("no Aggregated row in locust_stats.csv")


def raw_samples(run_dir: Path) -> list[float]:
    """Every response time the engine measured, in ms (written with the hidden --keep-raw)."""
    values = []
    for path in run_dir.glob("raw-*.tsv"):
        for line in path.read_text().splitlines():
            values.append(float(line.split("\t")[2]))
    return values


def exact_percentile(values: list[float], percentile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered) - 1e-9) - 1)]


# The embedded platform runs heavy work inline, as every test platform does (platform_server's
# NO_POOL): no suite here calls the heavy endpoints, and a pool process costs each run's start-up
# half its CPU.
EMBEDDED_PLATFORM = NO_POOL


def base_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    return {
        **env,
        **EMBEDDED_PLATFORM,
        "XDG_CACHE_HOME": str(cache_dir),
        "LOADLAB_SEED_SIZE": "small",
        **extra,
    }
