"""The loadlab command line: `run`, `capacity`, `worker`, `k8s`, `scenarios`, `report`;
`history`, `compare` and `baseline` live in history_cli.py.

One handler at the bottom turns every `LoadlabError` and click usage error into one line on stderr
and the documented exit code (docs/loadlab.md); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from loadlab.baselines import comparison_lines
from loadlab.engines import ENGINES
from loadlab.errors import (
    EXIT_INTERRUPTED,
    EXIT_TARGET_OR_ENGINE,
    EXIT_USAGE,
    LoadlabError,
    UsageError,
)
from loadlab.history_cli import baseline, compare, history_command
from loadlab.plan import Options, resolve_plan
from loadlab.preflight import Problems, check_run
from loadlab.progress import Progress
from loadlab.rates import describe
from loadlab.reports import InfluxTarget, parse_influx_target, write_reports
from loadlab.results import GeneratorWorker, OpenModel, RateStage, RunSummary
from loadlab.scenarios import load_config
from loadlab.verdict import threshold_lines, word

if TYPE_CHECKING:
    from loadlab.runner import RunOutcome


def _influx_target(values: dict[str, Any]) -> InfluxTarget | None:
    url = values.pop("influxdb", None)
    token = values.pop("influxdb_token", None)
    org = values.pop("influxdb_org", None)
    bucket = values.pop("influxdb_bucket", None)
    if url is None:
        return None
    return parse_influx_target(url, token=token, org=org, bucket=bucket)


_CONFIG = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file read after the package defaults (default: ./loadlab.toml if present).",
)


def _options(
    *options: Callable[[Callable[..., int]], Callable[..., int]],
) -> Callable[[Callable[..., int]], Callable[..., int]]:
    def apply(command: Callable[..., int]) -> Callable[..., int]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


# `--influxdb URL` and its companions (docs/reports.md), shared by `run` and `report`.
_influx_options = _options(
    click.option("--influxdb", default=None, help="Also send the results to InfluxDB at URL."),
    click.option("--influxdb-token", default=None, envvar="LOADLAB_INFLUXDB_TOKEN"),
    click.option("--influxdb-org", default=None),
    click.option("--influxdb-bucket", default=None),
)

# The suite's files and the tasks chosen from it: `run`, `capacity` and `k8s`.
_SUITE_FILES = _options(
    click.option(
        "-T", "--tags", default=None, help="Only tasks with these tags (comma-separated)."
    ),
    click.option(
        "-E", "--exclude-tags", default=None, help="Skip tasks with these tags (comma-separated)."
    ),
    *(  # one per engine, as the engine spells it; Options.of gathers them into `scripts`
        click.option(
            *filter(None, (engine.script_short_option, engine.script_option)),
            engine.script_setting,
            default=None,
            help=engine.script_help,
        )
        for engine in ENGINES.values()
    ),
    click.option("--results-dir", default=None, help="Where run folders go (default: results)."),
)
# What `run` and `capacity` share: the suite, the target, the thresholds, the monitor.
_SUITE_OPTIONS = _options(
    click.option("--engine", type=str, default=None, help="locust (default) or k6."),
    click.option(
        "--host", default=None, help="Base URL of the target; omit to start the platform here."
    ),
    click.option(
        "--max-in-flight",
        type=int,
        default=None,
        help="Open model: arrivals in progress at once; past it they are dropped.",
    ),
    _SUITE_FILES,
    click.option(
        "--workers", type=int, default=None, help="Locust worker processes (default: cores)."
    ),
    click.option(
        "--expect-workers",
        type=int,
        default=None,
        help="Also wait for N Locust workers from other hosts (`loadlab worker`).",
    ),
    click.option(
        "--master-bind",
        default=None,
        help="ADDRESS[:PORT] the Locust master listens on for them (default 127.0.0.1:5557).",
    ),
    click.option(
        "--expect-workers-max-wait",
        type=float,
        default=None,
        help="Seconds to wait for them before exit 3 (default 60).",
    ),
    click.option(
        "--threshold",
        "thresholds",
        multiple=True,
        help='Replaces the scenario\'s, e.g. "p95 < 500ms".',
    ),
    click.option(
        "--seed-size",
        type=click.Choice(["small", "default"]),
        default="default",
        envvar="LOADLAB_SEED_SIZE",
        show_default=True,
        help="Dataset of the embedded platform.",
    ),
    click.option(
        "--target-pid",
        type=int,
        default=None,
        help="With --host: the target's process on this machine, for CPU and memory (psutil).",
    ),
    click.option(
        "--db-url",
        default=None,
        help="PostgreSQL URL: its statistics are read; the embedded platform runs on it.",
    ),
    click.option(
        "--sample-interval", type=float, default=None, help="Seconds between monitor samples (1)."
    ),
    click.option(
        "--keep-raw", is_flag=True, hidden=True, help="Keep every raw sample (for tests)."
    ),
)
# The load profile of one run; `capacity` sets its own rates.
_PROFILE_OPTIONS = _options(
    click.option("-u", "--users", type=int, default=None, help="Peak concurrent users."),
    click.option("-r", "--spawn-rate", type=float, default=None, help="Users started per second."),
    click.option("-t", "--run-time", default=None, help="Length of the run, e.g. 30s, 2m, 1h30m."),
    click.option(
        "--stages", default=None, help='Load profile as k6 stages, e.g. "2m:200,5m:200,2m:0".'
    ),
    click.option(
        "--rate", default=None, help="Open model: arrivals per second, e.g. 50/s (with --run-time)."
    ),
    click.option(
        "--rate-stages",
        default=None,
        help='Open model: arrival rate stages, e.g. "1m:10/s,5m:100/s".',
    ),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="loadlab")
def cli(debug: bool) -> None:
    """Run the platform's load tests on Locust or k6 and judge them against thresholds."""


@cli.command()
@click.argument("scenario")
@_SUITE_OPTIONS
@_PROFILE_OPTIONS
@click.option("--no-progress", is_flag=True, help="No live progress lines.")
@click.option("--label", "labels", multiple=True, help="key=value recorded in the history.")
@click.option("--history-url", default=None, help="History database (default: [history] url).")
@_influx_options
@_CONFIG
def run(scenario: str, config: Path | None, no_progress: bool, **values: Any) -> int:
    """Run SCENARIO (see `loadlab scenarios`) and judge it; the exit code is the verdict."""
    from loadlab.runner import execute

    problems = Problems()  # every problem of every source named at once, before anything starts
    influxdb = problems.gather(lambda: _influx_target(values))
    labels, history_url = values.pop("labels"), values.pop("history_url")
    options = Options.of(values)
    checked = check_run(problems, scenario, config, options, labels=labels, history_url=history_url)
    outcome = execute(
        checked.plan,
        Progress(sys.stderr, enabled=not no_progress),
        influxdb=influxdb,
        history=checked.history,
    )
    print_verdict(outcome)
    return outcome.summary.verdict.exit_code


@cli.command()
@click.argument("scenario", default="stress-open")
@_SUITE_OPTIONS
@click.option("--start-rate", default="10/s", show_default=True, help="The first step's rate.")
@click.option("--max-rate", default="1000/s", show_default=True, help="The ceiling.")
@click.option(
    "--step", type=float, default=1.5, show_default=True, help="Factor between rising steps."
)
@click.option(
    "--resolution",
    type=float,
    default=5.0,
    show_default=True,
    help="Percent: when to stop narrowing.",
)
@click.option("--step-time", default="20s", show_default=True, help="How long each step is judged.")
@click.option("--warmup", default="5s", show_default=True, help="Before each step is judged.")
@click.option("--min-capacity", default=None, help="e.g. 150/s: exit 1 below it (for CI).")
@click.option("--no-progress", is_flag=True, help="No live progress lines.")
@_CONFIG
def capacity(scenario: str, config: Path | None, **values: Any) -> int:
    """Find the highest arrival rate at which SCENARIO's thresholds hold (docs/capacity.md)."""
    from loadlab.capacity_cli import run_capacity

    return run_capacity(scenario, config, values)


@cli.command()
@click.option("--master", required=True, help="HOST[:PORT] of the `loadlab run` master (5557).")
@click.option("--processes", type=int, default=None, help="Worker processes (default: cores).")
@click.option(
    "-f",
    "--locustfile",
    default="load_tests/locustfile.py",
    show_default=True,
    help="The suite, at the same path as on the master's host.",
)
def worker(master: str, processes: int | None, locustfile: str) -> int:
    """Run Locust workers here for a `loadlab run --expect-workers` elsewhere."""
    from loadlab.worker import run_worker

    return run_worker(master, processes, locustfile)


@cli.command()
@click.argument("scenario")
@click.option("--workers", type=int, required=True, help="Locust worker pods, or k6 runner pods.")
@click.option("--engine", type=str, default=None, help="locust (default) or k6.")
@click.option(
    "--host", required=True, help="Base URL of the target, as the cluster's pods reach it."
)
@click.option("--name", default=None, help="The resources' name (default: loadlab-SCENARIO).")
@click.option("--image", default=None, help="The pods' image (default: see docs/distributed.md).")
@click.option("--namespace", default=None, help="Kubernetes namespace (default: kubectl's).")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder for the manifests (default: RESULTS_DIR/k8s-NAME).",
)  # fmt: skip
@_SUITE_FILES
@_PROFILE_OPTIONS
@_CONFIG
def k8s(scenario: str, config: Path | None, **values: Any) -> int:
    """Write the Kubernetes manifests for SCENARIO on the Locust or k6 operator."""
    from loadlab.k8s_manifests import Cluster, check_cluster, write_manifests

    cluster = Cluster(
        name=values.pop("name") or f"loadlab-{scenario}",
        workers=values.pop("workers"),
        image=values.pop("image"),
        namespace=values.pop("namespace"),
    )
    out = values.pop("out")
    options = Options.of(values)
    problems = Problems()
    problems.gather(lambda: check_cluster(cluster))
    read = problems.config(config)
    plan = problems.plan(read, scenario, lambda loaded: resolve_plan(loaded, scenario, options))
    problems.raise_any()
    assert plan is not None  # else raise_any raised
    out_dir = out if out is not None else plan.results_dir / f"k8s-{cluster.name}"
    written = write_manifests(plan, cluster, out_dir)
    for path in written:
        click.echo(str(path))
    click.echo(f"next: kubectl apply -f {written[0]}  (docs/distributed.md, On Kubernetes)")
    return 0


@cli.command()
@_CONFIG
def scenarios(config: Path | None) -> int:
    """List the scenarios, their load profiles and thresholds."""
    loaded = load_config(config)
    for scenario in loaded.scenarios.values():
        click.echo(f"{scenario.name:<12} {scenario.profile_text():<36} {scenario.description}")
        click.echo(f"{'':<12} thresholds: {'; '.join(scenario.thresholds) or 'none'}")
    click.echo(f"(from {', '.join(loaded.sources)})")
    return 0


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@_influx_options
def report(run_dir: Path, **values: Any) -> int:
    """Render every report again from RUN_DIR/summary.json."""
    influxdb = _influx_target(values)

    try:
        summary = RunSummary.read(run_dir)
    except FileNotFoundError:
        raise UsageError(
            f"no summary.json in {run_dir}", hint="give a folder written by `loadlab run`"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(
            f"{run_dir}/summary.json cannot be read: {error}",
            hint="give a folder written by `loadlab run`, or re-run the test",
        ) from None
    for path in write_reports(summary, run_dir, influxdb=influxdb):
        click.echo(str(path))
    if influxdb is not None:
        click.echo(f"influxdb: results written to {influxdb.describe()}")
    return 0


cli.add_command(history_command)
cli.add_command(compare)
cli.add_command(baseline)


def arrivals_line(open_model: OpenModel, stages: Sequence[RateStage]) -> str:
    """The open model's own line: what was asked, what was sent, and the service-time p95."""
    service = open_model.service.p95_ms
    return (
        f"arrivals: {open_model.started} of {open_model.planned} started "
        f"({describe(stages)} asked, {open_model.sent_per_s:.1f}/s sent), "
        f"{open_model.dropped} dropped, {open_model.late} late; latency counts from each "
        f"arrival's due time (service p95 {'-' if service is None else f'{service:.1f} ms'})"
    )


def generator_line(worker: GeneratorWorker) -> str:
    cpu = "-" if worker.cpu_percent_max is None else f"{worker.cpu_percent_max:.0f}%"
    state = (
        f", lost {worker.lost_at_s:.0f}s into the run" if worker.lost_at_s is not None else ""
    ) + (", saturated" if worker.saturated else "")
    return (
        f"worker {worker.index} on {worker.host}: {worker.requests} requests, "
        f"{worker.failures} failed, CPU max {cpu}, clock {worker.clock_offset_s:+.1f} s{state}"
    )


def print_verdict(outcome: RunOutcome) -> None:
    """The end of a run in the terminal: totals, one line per threshold, the verdict."""
    summary = outcome.summary
    totals = summary.totals
    p95 = "-" if totals.p95_ms is None else f"{totals.p95_ms:.1f} ms"
    print(
        f"{summary.engine} {summary.scenario}: {totals.requests} requests, "
        f"{totals.failures} failed, "
        f"{totals.rps:.1f} req/s, p95 {p95} over {summary.duration_s:g}s"
        + (
            ""
            if summary.plan.profile in ("stages", "arrival rate")
            else f" (load set by {summary.plan.profile})"
        )
    )
    if summary.open_model is not None:
        print(arrivals_line(summary.open_model, summary.plan.rate_stages))
    if summary.plan.remote_workers:  # each generator host's share, when there are several
        for worker in summary.generators:
            print(generator_line(worker))
    for line in threshold_lines(summary.thresholds):
        print(line)
    if summary.comparison is not None:
        for line in comparison_lines(summary.comparison):
            print(line)
    verdict = summary.verdict
    print(f"verdict: {word(verdict.exit_code)} (exit {verdict.exit_code}): {verdict.reason}")
    print(f"results: {outcome.run_dir}")
    if outcome.influx_written:
        print(f"influxdb: results written to {outcome.influx_written}")
    if outcome.report_problem:
        print(f"loadlab: warning: {outcome.report_problem}", file=sys.stderr)
    if summary.verdict.exit_code == EXIT_INTERRUPTED:
        print("interrupted: partial results written", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = cli.main(args, prog_name="loadlab", standalone_mode=False)
    except click.exceptions.Exit as done:
        code = done.exit_code
    except click.ClickException as error:
        if debug:
            traceback.print_exc()
        hint = " (see loadlab --help)" if isinstance(error, click.UsageError) else ""
        click.echo(f"loadlab: error: {error.format_message()}{hint}", err=True)
        code = EXIT_USAGE
    except LoadlabError as error:  # ReportError included
        if debug:
            traceback.print_exc()
        click.echo(f"loadlab: error: {error.one_line()}", err=True)
        code = error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("loadlab: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except Exception as error:  # one line for the user, the traceback only on request
        if debug:
            traceback.print_exc()
        click.echo(
            f"loadlab: internal error: {type(error).__name__}: {error} (--debug shows details)",
            err=True,
        )
        code = EXIT_TARGET_OR_ENGINE
    sys.exit(code if isinstance(code, int) else 0)
