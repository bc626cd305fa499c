"""Memory over a long run (issue 15, docs/benchmarks.md): every process's RSS, sampled while
`loadlab run` sends a fixed arrival rate to nginx answering a tiny `/health`.

    .venv/bin/python benchmarks/bench_memory.py [--minutes 120] [--rate 1000] [--engine locust|k6]
    .venv/bin/python benchmarks/bench_memory.py --users 50 --minutes 10 --engine k6

With `--users N` the load is N users without think time (the engine's full speed) instead of an
arrival rate. At the end it also prints loadlab's totals beside the engine's own (they must be
equal) and whether the engine's own summary was written.

Every `--every` seconds (default 30) it reads the RSS of loadlab's own process and of each engine
process under it (psutil), and prints a row; at the end, each one's growth from the first sample
after the load started to the last, and the slope per hour. The goal: loadlab's own process
grows less than 50 MB over 2 hours at 1,000 requests per second. Needs Debian's `nginx`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))
from bench_engines import K6_SCRIPT, LOCUSTFILE  # noqa: E402
from nginx_target import nginx  # noqa: E402
from process_harness import TestProcess  # noqa: E402

BIN = Path(sys.executable).parent
MB = 1024 * 1024


def _roles(loadlab: psutil.Process) -> dict[str, float]:
    """RSS in MB of loadlab's own process and of each engine process under it, by role."""
    found = {"loadlab": loadlab.memory_info().rss / MB}
    for child in loadlab.children(recursive=True):
        try:
            line = " ".join(child.cmdline())
            rss = child.memory_info().rss / MB
            name = child.name()
        except psutil.Error:
            continue
        if "--worker" in line:  # before --master: a worker's line has --master-host
            role = f"locust worker {child.pid}"
        elif "--master" in line:
            role = "locust master"
        elif name == "k6":
            role = "k6"
        else:
            continue
        found[role] = rss
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--engine", choices=["locust", "k6"], default="locust")
    parser.add_argument("--users", type=int, default=0, help="closed model, no think time")
    parser.add_argument("--every", type=float, default=30)
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        sys.exit("bench_memory: needs Debian's nginx")
    seconds = round(args.minutes * 60)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        folder = Path(scratch)
        (folder / "locustfile.py").write_text(LOCUSTFILE)
        (folder / "script.js").write_text(K6_SCRIPT)
        suite = (
            ["--engine", "k6", "--k6-script", str(folder / "script.js")]
            if args.engine == "k6"
            else ["--engine", "locust", "--locustfile", str(folder / "locustfile.py")]
        )
        with nginx("127.0.0.1", folder) as url:
            load = (
                ["-u", str(args.users), "-r", str(args.users)]
                if args.users
                else ["--rate", f"{args.rate}/s", "--max-in-flight", "200"]
            )
            run = TestProcess(
                [str(BIN / "loadlab"), "run", "smoke", *suite, "--host", url, *load,
                 "--run-time", f"{seconds}s", "--threshold", "failures == 0",
                 "--results-dir", str(folder / "results"), "--no-progress"],
                folder / "logs", name="loadlab",
            )  # fmt: skip
            with run:
                samples = _sample(psutil.Process(run.pid), run, args.every)
                finished = run.finish(seconds + 300)
            print(finished.stdout.splitlines()[0] if finished.stdout else finished.explain())
            print(f"loadlab's exit code {finished.code}")
            _totals(folder / "results")
    _report(samples)


def _totals(results: Path) -> None:
    [run_dir] = [p for p in results.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    totals, extra = summary["totals"], summary["extra"]
    print(
        f"loadlab's totals {totals['requests']:,} requests, {totals['failures']:,} failed; the "
        f"engine's {extra.get('engine_requests')}, {extra.get('engine_failures')}; engine outputs "
        f"{', '.join(summary['engine_outputs'])}; verdict {summary['verdict']['reason']}"
    )


def _sample(
    loadlab: psutil.Process, run: TestProcess, every_s: float
) -> list[tuple[float, dict[str, float]]]:
    samples = []
    began = time.monotonic()
    while run.popen.poll() is None:
        try:
            roles = _roles(loadlab)
        except psutil.Error:
            break
        elapsed = time.monotonic() - began
        samples.append((elapsed, roles))
        shown = ", ".join(f"{role} {rss:.0f}" for role, rss in sorted(roles.items()))
        print(f"{elapsed / 60:6.1f} min  RSS MB: {shown}", flush=True)
        time.sleep(every_s)  # a sampling period, not a wait for a condition
    return samples


def _report(samples: list[tuple[float, dict[str, float]]]) -> None:
    # From the first sample with every engine process present (the load has started).
    roles = max((set(r) for _, r in samples), key=len, default=set())
    loaded = [(t, r) for t, r in samples if set(r) >= roles]
    if len(loaded) < 2:
        print("too few samples")
        return
    (t0, first), (t1, last) = loaded[0], loaded[-1]
    hours = (t1 - t0) / 3600
    for role in sorted(roles):
        growth = last[role] - first[role]
        peak = max(r[role] for _, r in loaded)
        median = statistics.median(r[role] for _, r in loaded)
        print(
            f"{role}: {first[role]:.0f} -> {last[role]:.0f} MB (+{growth:.1f} MB over "
            f"{hours * 60:.0f} min, {growth / hours:+.1f} MB/h), median {median:.0f}, "
            f"peak {peak:.0f}"
        )


if __name__ == "__main__":
    main()
