"""Distributed runs measured (docs/distributed.md, docs/benchmarks.md): generator hosts simulated
by network namespaces (tests/loadlab/netns.py), as the tests make them.

    .venv/bin/python benchmarks/bench_distributed.py rate [--seconds 20] [--rounds 3]
    .venv/bin/python benchmarks/bench_distributed.py loss [--rounds 3]

`rate`: responses per second of `loadlab run` with 1, 2 and 3 `loadlab worker`s (one process
each), each in a namespace of its own, the master in another, against nginx answering a tiny
`/health` on the bridge (50 users, no think time, FastHttpUser); the worker counts in turns, the
median of the rounds. Every process shares this machine's cores, so this shows what the
distributed path costs and carries here, not what more machines would add.
`loss`: a worker `kill -9`ed, and one whose link is cut, mid-run; the seconds from the loss to
the master's `worker_lost` record (the moment loadlab reports it), per round.

Needs root, iproute2 and nginx (Debian's `nginx`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests" / "loadlab"))
from netns import Network, generator_network, skip_reason  # noqa: E402

from bench_engines import LOCUSTFILE as SUITE  # noqa: E402
from nginx_target import nginx  # noqa: E402
from process_harness import TestProcess  # noqa: E402
from waiting import wait_for  # noqa: E402

LOADLAB = str(Path(sys.executable).with_name("loadlab"))


def _run(
    network: Network, workers: list[str], url: str, folder: Path, *, seconds: int, lose: str = ""
) -> tuple[dict[str, object], float | None]:
    """One `loadlab run` with `workers`; with `lose` ("kill" or "cut"), the last one is lost
    halfway. The summary and, for a loss, the seconds from it to the master's record of it."""
    suite = folder / "suite" / "locustfile.py"
    suite.parent.mkdir(exist_ok=True)
    suite.write_text(SUITE)
    results = folder / f"results-{time.monotonic_ns()}"
    master = f"{network.addresses['master']}:5557"
    lost_at = None
    with contextlib.ExitStack() as stack:
        started = []
        for name in workers:
            worker = TestProcess(
                [*network.run_in(name), LOADLAB, "worker", "--master", master,
                 "--processes", "1", "--locustfile", str(suite)],
                folder / "logs", cwd=REPO, name=f"worker-{name}",
            )  # fmt: skip
            stack.callback(worker.close)
            started.append(worker)
        run = TestProcess(
            [*network.run_in("master"), LOADLAB, "run", "smoke", "--locustfile", str(suite),
             "--workers", "0", "--expect-workers", str(len(workers)), "--master-bind", master,
             "--host", url, "--users", "50", "--spawn-rate", "50", "--run-time", f"{seconds}s",
             "--threshold", "failures == 0", "--results-dir", str(results), "--no-progress"],
            folder / "logs", cwd=REPO, name="master",
        )  # fmt: skip
        stack.callback(run.close)
        if lose:
            wait_for(lambda: _reported(results), 90, "the workers' first report")
            time.sleep(seconds / 2)  # halfway through the load, by design of the measurement
            lost_at = time.time()
            if lose == "kill":
                for process in psutil.Process(started[-1].pid).children(recursive=True):
                    process.send_signal(signal.SIGKILL)
            else:
                network.cut(workers[-1])
        run.finish(seconds + 180)
        if lose:
            started[-1].kill()
    [run_dir] = [p for p in results.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    if lost_at is None:
        return summary, None
    records = [json.loads(line) for line in (run_dir / "locust_loadlab.jsonl").open()]
    noticed = [r["t"] for r in records if r["type"] == "worker_lost"]
    return summary, (min(noticed) - lost_at) if noticed else None


def _reported(results: Path) -> bool:
    for stream in results.glob("*/locust_loadlab.jsonl"):
        if any(json.loads(line)["type"] == "stats" for line in stream.read_text().splitlines()):
            return True
    return False


def _rate(summary: dict[str, object]) -> float:
    totals = summary["totals"]
    assert isinstance(totals, dict)
    return float(totals["requests"]) / float(summary["duration_s"])  # type: ignore[arg-type]


def rate(seconds: int, rounds: int) -> None:
    counts = (1, 2, 3)
    measured: dict[int, list[float]] = {n: [] for n in counts}
    names = [f"w{n}" for n in counts]
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as scratch:
        folder = Path(scratch)
        with (
            generator_network(["master", *names]) as network,
            nginx(network.bridge_address, folder) as url,
        ):
            for round_index in range(rounds):
                for n in counts:
                    summary, _ = _run(network, names[:n], url, folder, seconds=seconds)
                    measured[n].append(_rate(summary))
                    totals = summary["totals"]
                    print(
                        f"round {round_index + 1}: {n} worker(s) {measured[n][-1]:,.0f}/s {totals}"
                    )
    for n in counts:
        runs = ", ".join(f"{v:,.0f}" for v in measured[n])
        print(f"{n} worker(s): median {statistics.median(measured[n]):,.0f} req/s ({runs})")


def loss(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as scratch:
        folder = Path(scratch)
        for how in ("kill", "cut"):
            delays = []
            for _ in range(rounds):
                with (
                    generator_network(["master", "w1", "w2"]) as network,
                    nginx(network.bridge_address, folder) as url,
                ):
                    summary, delay = _run(network, ["w1", "w2"], url, folder, seconds=20, lose=how)
                verdict = summary["verdict"]
                assert isinstance(verdict, dict)
                delays.append(delay)
                shown = "not reported" if delay is None else f"{delay:.1f} s"
                reason = str(verdict["reason"])[:90]
                print(f"{how}: reported after {shown}, exit {verdict['exit_code']}: {reason}")
            found = [d for d in delays if d is not None]
            if found:
                print(f"{how}: median {statistics.median(found):.1f} s, max {max(found):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["rate", "loss"])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reason = skip_reason() or (None if shutil.which("nginx") else "nginx is not installed")
    if reason is not None:
        sys.exit(f"bench_distributed: {reason}")
    os.environ.setdefault("LOADLAB_SEED_SIZE", "small")
    if args.what == "rate":
        rate(args.seconds, args.rounds)
    else:
        loss(args.rounds)


if __name__ == "__main__":
    main()
