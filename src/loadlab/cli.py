"""The loadlab command line: `run`, `scenarios`, `report` and `history`.

One handler at the bottom turns every `LoadlabError` and click usage error into one line on stderr
and the documented exit code (docs/loadlab.md); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from loadlab import history
from loadlab.errors import (
    EXIT_INTERRUPTED,
    EXIT_TARGET_OR_ENGINE,
    EXIT_USAGE,
    LoadlabError,
    UsageError,
)
from loadlab.plan import Options, resolve_plan
from loadlab.progress import Progress
from loadlab.results import RunSummary
from loadlab.scenarios import load_config

_CONFIG = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file read after the package defaults (default: ./loadlab.toml if present).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="loadlab")
def cli(debug: bool) -> None:
    """Run the platform's load tests on Locust or k6 and judge them against thresholds."""


@cli.command()
@click.argument("scenario")
@click.option("--engine", type=str, default=None, help="locust (default) or k6.")
@click.option(
    "--host", default=None, help="Base URL of the target; omit to start the platform here."
)
@click.option("-u", "--users", type=int, default=None, help="Peak concurrent users.")
@click.option("-r", "--spawn-rate", type=float, default=None, help="Users started per second.")
@click.option("-t", "--run-time", default=None, help="Length of the run, e.g. 30s, 2m, 1h30m.")
@click.option(
    "--stages", default=None, help='Load profile as k6 stages, e.g. "2m:200,5m:200,2m:0".'
)
@click.option("-T", "--tags", default=None, help="Only tasks with these tags (comma-separated).")
@click.option(
    "-E", "--exclude-tags", default=None, help="Skip tasks with these tags (comma-separated)."
)
@click.option(
    "-f", "--locustfile", default=None, help="Locust suite (default load_tests/locustfile.py)."
)
@click.option("--k6-script", default=None, help="k6 suite (default load_tests/k6_script.js).")
@click.option("--workers", type=int, default=None, help="Locust worker processes (default: cores).")
@click.option(
    "--threshold", "thresholds", multiple=True, help='Replaces the scenario\'s, e.g. "p95 < 500ms".'
)
@click.option("--results-dir", default=None, help="Where run folders go (default: results).")
@click.option(
    "--seed-size",
    type=click.Choice(["small", "default"]),
    default="default",
    envvar="LOADLAB_SEED_SIZE",
    show_default=True,
    help="Dataset of the embedded platform.",
)
@click.option("--keep-raw", is_flag=True, hidden=True, help="Keep every raw sample (for tests).")
@click.option("--no-progress", is_flag=True, help="No live progress lines.")
@_CONFIG
def run(scenario: str, config: Path | None, no_progress: bool, **values: object) -> int:
    """Run SCENARIO (see `loadlab scenarios`) and judge it; the exit code is the verdict."""
    from loadlab.runner import execute, print_verdict

    options = Options(**{key: value for key, value in values.items() if value is not None})  # type: ignore[arg-type]
    plan = resolve_plan(load_config(config), scenario, options)
    outcome = execute(plan, Progress(sys.stderr, enabled=not no_progress))
    print_verdict(outcome)
    return outcome.summary.verdict.exit_code


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
def report(run_dir: Path) -> int:
    """Render every report again from RUN_DIR/summary.json."""
    from loadlab.reports import write_reports

    try:
        summary = RunSummary.read(run_dir)
    except FileNotFoundError:
        raise UsageError(
            f"no summary.json in {run_dir}", hint="give a folder written by `loadlab run`"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(
            f"{run_dir}/summary.json cannot be read: {error}", hint="re-run the test"
        ) from None
    for path in write_reports(summary, run_dir):
        click.echo(str(path))
    return 0


@cli.command("history")
@click.option(
    "--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True
)
@click.option("--scenario", default=None, help="Only this scenario.")
@click.option("-n", "--limit", type=int, default=20, show_default=True, help="Newest runs shown.")
def history_command(results_dir: Path, scenario: str | None, limit: int) -> int:
    """List past runs, newest last, so a regression stands out."""
    entries = [e for e in history.read(results_dir) if scenario is None or e.scenario == scenario]
    if not entries:
        click.echo(f"no runs recorded in {results_dir / history.HISTORY_FILE}")
        return 0
    for line in history.format_table(entries[-limit:]):
        click.echo(line)
    return 0


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
    except LoadlabError as error:
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
