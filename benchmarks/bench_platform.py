"""How fast the platform serves, against a bare FastAPI app measured in the same run.

The issue's goals on one worker: `/health` >= 3,000 req/s (a bare FastAPI route measures about
3,500 here), reads >= 1,500 req/s, and P95 below 50 ms at half of each maximum. The machines are
shared and noisy, so absolute figures drift; the ratio to the bare peer, measured in the same run
with runs interleaved, is the figure to trust, and every figure is the median of several runs.

- Maximum throughput: `wrk` (closed loop, fixed connections) on each endpoint.
- P95 at half of that maximum: k6's `constant-arrival-rate` executor (an open loop, so a slow
  response cannot slow the arrivals down), which plain `wrk` lacks.
- CPU per request: the server process's CPU time (user + system) during each wrk run over the
  requests it answered. Other work on the machine takes cores away from the server, which lowers
  req/s, but hardly changes what each request costs; so this figure, and each run's ratio to the
  peer run just before it, move much less than req/s on a loaded machine.

The platform runs as `platform-api serve --workers 1` on a SQLite database filled by
`platform-api seed --size small`, with rate limits raised out of reach (the token bucket still runs
on every request). Endpoints: `/health` on both, then the platform's `GET /api/v1/workspaces`
(a page of 20, with an API key) and `POST /api/v1/workspaces`.

    .venv/bin/python benchmarks/bench_platform.py [--duration 5] [--runs 3] [--connections 32]
        [--endpoints platform-health,platform-read,platform-write] [--also NAME=SRC ...]

`--also` serves other copies of the platform (another commit's `src/`) beside this one and
measures their reads in the same interleaved runs: a step's effect, measured side by side.

Prints a Markdown table with the exact commands (copied into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from loadlab.target import serve_platform

BIN = Path(sys.executable).parent
PEER_REFERENCE_RPS = 3_500.0  # the figure for a bare FastAPI route on these machines
GOALS_RPS = {"health": 3_000.0, "read": 1_500.0}
GOAL_P95_MS = 50.0
PLATFORM_ENDPOINTS = ("platform-health", "platform-read", "platform-write")
PEER_APP = '''"""The bare FastAPI app with one trivial route that the platform is compared with."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
'''
K6_SCRIPT = """
import http from 'k6/http';

export const options = {
  discardResponseBodies: true,
  scenarios: {
    half: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE),
      timeUnit: '1s',
      duration: __ENV.DURATION,
      preAllocatedVUs: 50,
      maxVUs: 400,
    },
  },
};

const params = { headers: JSON.parse(__ENV.HEADERS) };

export default function () {
  if (__ENV.METHOD === 'POST') {
    http.post(__ENV.URL, __ENV.BODY, params);
  } else {
    http.get(__ENV.URL, params);
  }
}
"""
WRK_POST = """
wrk.method = "POST"
wrk.body = '{"name": "bench", "description": "written by wrk"}'
wrk.headers["Content-Type"] = "application/json"
"""


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    base_url: str
    path: str
    server_pid: int
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def url(self) -> str:
        return self.base_url + self.path


@dataclass
class Figures:
    max_rps: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # server CPU per request, per wrk run
    p95_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wrk_command: str = ""
    k6_command: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} was not ready within {timeout_s} s")


@contextmanager
def serving(
    command: list[str], env: dict[str, str], log_path: Path, ready_url: str
) -> Iterator[int]:
    """Start a server (log to a file), wait until it answers, and always stop it by its PID."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        wait_ready(ready_url, process)
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def start_platform(stack: ExitStack, workdir: Path, source: Path | None = None) -> tuple[str, int]:
    """The platform's base URL and process id; `source` is another copy's `src/` to serve."""
    workdir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **({"PYTHONPATH": str(source)} if source else {}),
        "PLATFORM_DATABASE_URL": f"sqlite:///{workdir / 'platform.db'}",
        "PLATFORM_RATE_LIMIT_PER_S": "1000000000",
        "PLATFORM_RATE_LIMIT_BURST": "1000000000",
        "PLATFORM_LOG_LEVEL": "warning",
    }
    seed_log = workdir / "seed.log"
    with seed_log.open("wb") as log:
        subprocess.run(
            [str(BIN / "platform-api"), "seed", "--size", "small"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=600,
        )
    served = stack.enter_context(serve_platform(env, workdir / "platform.out"))
    return served.base_url, served.process.pid


def start_peer(stack: ExitStack, workdir: Path) -> tuple[str, int]:
    """The bare peer's base URL and process id."""
    (workdir / "bench_peer.py").write_text(PEER_APP)
    port = free_port()
    command = [
        str(BIN / "uvicorn"),
        "bench_peer:app",
        "--app-dir",
        str(workdir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    base_url = f"http://127.0.0.1:{port}"
    pid = stack.enter_context(
        serving(command, dict(os.environ), workdir / "peer.log", f"{base_url}/health")
    )
    return base_url, pid


def member_key(base_url: str, workspaces: int = 20) -> str:
    """A fresh account owning a page of workspaces, so that the read returns a full page."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = client.post(
            "/api/v1/auth/register", json={"email": "bench@example.com", "name": "Bench"}
        )
        response.raise_for_status()
        key = str(response.json()["api_key"])
        for i in range(workspaces):
            created = client.post(
                "/api/v1/workspaces",
                json={"name": f"bench-{i}"},
                headers={"Authorization": f"Bearer {key}"},
            )
            created.raise_for_status()
        return key


def wrk_command(endpoint: Endpoint, seconds: int, connections: int, post_script: Path) -> list[str]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in endpoint.headers.items():
        command += ["-H", f"{name}: {value}"]
    if endpoint.method == "POST":
        command += ["-s", str(post_script)]
    return [*command, endpoint.url]


def cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run_wrk(command: list[str], seconds: int, server_pid: int) -> tuple[float, float, str]:
    """Requests per second, the server's CPU ms per request, and a note when any response was
    not 2xx/3xx or a socket failed."""
    cpu_before = cpu_s(server_pid)
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    cpu_used_s = cpu_s(server_pid) - cpu_before
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    count = re.search(r"(\d+) requests in", result.stdout)
    if match is None or count is None:
        raise RuntimeError(f"no Requests/sec in the wrk output:\n{result.stdout}")
    notes = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", result.stdout)
    cpu_ms = cpu_used_s * 1000 / max(1, int(count.group(1)))
    return float(match.group(1)), cpu_ms, "; ".join(notes)


def k6_command(
    endpoint: Endpoint, rate: int, seconds: int, script: Path, summary: Path
) -> tuple[list[str], dict[str, str]]:
    env = {
        "RATE": str(rate),
        "DURATION": f"{seconds}s",
        "URL": endpoint.url,
        "METHOD": endpoint.method,
        "BODY": endpoint.body,
        "HEADERS": json.dumps({**endpoint.headers, "Content-Type": "application/json"}),
    }
    command = [
        str(BIN / "k6"),
        "run",
        "--quiet",
        "--no-usage-report",
        "--summary-export",
        str(summary),
        str(script),
    ]
    return command, env


def run_k6(
    command: list[str], env: dict[str, str], summary: Path, seconds: int
) -> tuple[float, str]:
    """P95 in ms, and a note when the open loop could not hold its rate or requests failed."""
    summary.unlink(missing_ok=True)
    subprocess.run(
        command,
        env={**os.environ, **env, "K6_NO_USAGE_REPORT": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 90,
        check=False,
    )
    metrics = json.loads(summary.read_text())["metrics"]
    p95_ms = float(metrics["http_req_duration"]["p(95)"])
    notes = []
    dropped = metrics.get("dropped_iterations", {}).get("count", 0)
    if dropped:
        notes.append(f"{dropped} arrivals dropped")
    failed = metrics.get("http_req_failed", {}).get("value", 0.0)
    if failed:
        notes.append(f"{failed:.1%} failed")
    return p95_ms, "; ".join(notes)


def shell(command: list[str], env: dict[str, str] | None = None) -> str:
    prefix = " ".join(f"{k}={_quote(v)}" for k, v in (env or {}).items())
    return (prefix + " " if prefix else "") + " ".join(_quote(part) for part in command)


def _quote(part: str) -> str:
    return part if re.fullmatch(r"[\w@%+=:,./-]+", part) else "'" + part.replace("'", "'\\''") + "'"


def measure(
    endpoints: list[Endpoint], workdir: Path, runs: int, seconds: int, connections: int
) -> dict[str, Figures]:
    post_script = workdir / "post.lua"
    post_script.write_text(WRK_POST)
    k6_script = workdir / "half_load.js"
    k6_script.write_text(K6_SCRIPT)
    figures = {endpoint.name: Figures() for endpoint in endpoints}
    # Interleaved, so that a noisy moment on the shared machine hits every endpoint alike.
    for run in range(runs):
        for endpoint in endpoints:
            command = wrk_command(endpoint, seconds, connections, post_script)
            rps, cpu_ms, note = run_wrk(command, seconds, endpoint.server_pid)
            fig = figures[endpoint.name]
            fig.max_rps.append(rps)
            fig.cpu_ms.append(cpu_ms)
            fig.wrk_command = shell(command)
            if note:
                fig.errors.append(f"wrk run {run + 1}: {note}")
            print(
                f"run {run + 1} {endpoint.name}: wrk {rps:,.0f} req/s, {cpu_ms:.3f} ms CPU {note}",
                file=sys.stderr,
            )
    for run in range(runs):
        for endpoint in endpoints:
            fig = figures[endpoint.name]
            rate = max(1, round(statistics.median(fig.max_rps) / 2))
            summary = workdir / f"k6-{endpoint.name}.json"
            command, env = k6_command(endpoint, rate, seconds, k6_script, summary)
            p95, note = run_k6(command, env, summary, seconds)
            fig.p95_ms.append(p95)
            fig.k6_command = shell(command, env)
            if note:
                fig.errors.append(f"k6 run {run + 1}: {note}")
            print(
                f"run {run + 1} {endpoint.name}: k6 {rate}/s p95 {p95:.1f} ms {note}",
                file=sys.stderr,
            )
    return figures


def report(endpoints: list[Endpoint], figures: dict[str, Figures], args: argparse.Namespace) -> str:
    peer_rps = statistics.median(figures["peer-health"].max_rps)
    lines = [
        f"Median of {args.runs} runs of {args.duration} s each; one uvicorn worker; wrk with 1 "
        f"thread and {args.connections} connections; P95 from k6 (constant arrival rate) at half "
        "of the median maximum. Goals are the issue's absolute figures; the ratio to the bare "
        f"peer, measured in the same run ({peer_rps:,.0f} req/s here against the issue's "
        f"{PEER_REFERENCE_RPS:,.0f}, which a heavier client must have measured), is the figure "
        "that survives the shared machine's noise.",
        "",
        "Each run's ratio is to the peer's run just before it; CPU is the server process's "
        "CPU time per request during the wrk runs (median), and its ratio the peer's CPU per "
        "request over the endpoint's: what the ratio of req/s would be if each had a core.",
        "",
        "| endpoint | max req/s (median) | runs | ratio to peer | each run's ratio | "
        "CPU per request | CPU ratio | goal | P95 at half max (median) | runs | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    peer = figures["peer-health"]
    peer_cpu_ms = statistics.median(peer.cpu_ms)
    for endpoint in endpoints:
        fig = figures[endpoint.name]
        rps = statistics.median(fig.max_rps)
        run_ratios = [r / p for r, p in zip(fig.max_rps, peer.max_rps, strict=True)]
        cpu_ms = statistics.median(fig.cpu_ms)
        p95 = statistics.median(fig.p95_ms)
        goal = GOALS_RPS.get(endpoint.name.removeprefix("platform-"))
        goal_text = f"≥ {goal:,.0f} req/s, " if goal else ""
        met = (goal is None or rps >= goal) and p95 < GOAL_P95_MS
        verdict = "reference" if endpoint.name == "peer-health" else ("meets" if met else "misses")
        if not endpoint.name.startswith(("peer-", "platform-")):
            verdict = "compared (--also)"
        lines.append(
            f"| {endpoint.label} | {rps:,.0f} | {' / '.join(f'{r:,.0f}' for r in fig.max_rps)} "
            f"| {rps / peer_rps:.2f} | {' / '.join(f'{r:.3f}' for r in run_ratios)} "
            f"| {cpu_ms:.3f} ms | {peer_cpu_ms / cpu_ms:.3f} "
            f"| {goal_text}P95 < {GOAL_P95_MS:.0f} ms | {p95:.1f} ms "
            f"| {' / '.join(f'{p:.1f}' for p in fig.p95_ms)} | {verdict} |"
        )
    lines += ["", "Commands (ports, keys and paths differ per run):", ""]
    for endpoint in endpoints:
        fig = figures[endpoint.name]
        lines.append(f"- {endpoint.label}: `{fig.wrk_command}`; then `{fig.k6_command}`")
    problems = [f"{name}: {e}" for name, fig in figures.items() for e in fig.errors]
    if problems:
        lines += ["", "Problems seen:", "", *(f"- {p}" for p in problems)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--endpoints",
        default=",".join(PLATFORM_ENDPOINTS),
        help="the platform's endpoints to measure beside the peer, comma-separated "
        f"(default: {','.join(PLATFORM_ENDPOINTS)})",
    )
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="NAME=SRC",
        help="also serve the platform from another copy's src/ directory (first on PYTHONPATH) "
        "and measure its read in the same runs, e.g. before=/tmp/before/src (repeatable)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the database, logs and k6 summaries here (new directory)"
    )
    args = parser.parse_args()
    chosen = args.endpoints.split(",")
    unknown = sorted(set(chosen) - set(PLATFORM_ENDPOINTS))
    if unknown:
        print(
            f"bench_platform: unknown endpoints {', '.join(unknown)};"
            f" choose among {', '.join(PLATFORM_ENDPOINTS)}",
            file=sys.stderr,
        )
        return 2
    others = [
        (name, Path(source).resolve()) for name, _, source in (a.partition("=") for a in args.also)
    ]
    bad = [name for name, source in others if not name or not (source / "platform_api").is_dir()]
    if bad:
        print(
            f"bench_platform: --also wants NAME=SRC with SRC/platform_api: {bad}", file=sys.stderr
        )
        return 2
    if shutil.which("wrk") is None:
        print("bench_platform: wrk is not installed; run `apt-get install -y wrk`", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        if args.workdir:
            args.workdir.mkdir(parents=True)
            workdir = args.workdir.resolve()
        else:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-platform-"))
            )
        peer, peer_pid = start_peer(stack, workdir)
        platform, pid = start_platform(stack, workdir)
        auth = {"Authorization": f"Bearer {member_key(platform)}"}
        endpoints = [
            Endpoint("peer-health", "peer `GET /health`", peer, "/health", peer_pid),
            Endpoint("platform-health", "platform `GET /health`", platform, "/health", pid),
            Endpoint("platform-read", "platform `GET /api/v1/workspaces`", platform,
                     "/api/v1/workspaces", pid, headers=auth),
            Endpoint("platform-write", "platform `POST /api/v1/workspaces`", platform,
                     "/api/v1/workspaces", pid, "POST", auth,
                     '{"name": "bench", "description": "written by k6"}'),
        ]  # fmt: skip
        endpoints = [e for e in endpoints if e.name == "peer-health" or e.name in chosen]
        for name, source in others:
            base, other_pid = start_platform(stack, workdir / name, source)
            other_auth = {"Authorization": f"Bearer {member_key(base)}"}
            endpoints.append(
                Endpoint(f"{name}-read", f"{name} `GET /api/v1/workspaces`", base,
                         "/api/v1/workspaces", other_pid, headers=other_auth)
            )  # fmt: skip
        figures = measure(endpoints, workdir, args.runs, args.duration, args.connections)
        print(report(endpoints, figures, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
