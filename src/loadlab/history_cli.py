"""The history commands: `history` (with `--trend`), `compare` and `baseline set|show|clear`.

They read the history database (docs/baselines.md); `cli.py` registers them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from loadlab import history, trends
from loadlab.baselines import compare_run, comparison_lines
from loadlab.comparison import RunData
from loadlab.errors import EXIT_PASSED, EXIT_THRESHOLD_FAILED, UsageError
from loadlab.history_config import HistorySettings, history_settings
from loadlab.history_store import STORE_FILE, HistoryStore, default_url, describe
from loadlab.regressions import parse_limits
from loadlab.results import SUMMARY_FILE, RunSummary
from loadlab.scenarios import load_config


def _store_options(command: Callable[..., int]) -> Callable[..., int]:
    options = [
        click.option(
            "--results-dir", type=click.Path(path_type=Path), default=None, help="As for `run`."
        ),
        click.option(
            "--history-url", default=None, help="The history database (default: [history] url)."
        ),
        click.option(
            "--config",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Configuration file (default: ./loadlab.toml if present).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(values: dict[str, Any]) -> tuple[Path, HistorySettings]:
    config = load_config(values.pop("config", None))
    results_dir = values.pop("results_dir", None) or Path(config.results_dir)
    settings = history_settings(config.history, url=values.pop("history_url", None))
    return results_dir, settings


@contextmanager
def _store(results_dir: Path, settings: HistorySettings) -> Iterator[HistoryStore]:
    store = history.open_store(results_dir, settings.url)
    try:
        yield store
    finally:
        store.close()


def _where(results_dir: Path, settings: HistorySettings) -> str:
    if settings.url is None:
        return str(results_dir / STORE_FILE)
    return describe(settings.url or default_url(results_dir))


@click.command("history")
@click.option("--scenario", default=None, help="Only this scenario.")
@click.option("--engine", default=None, help="With --trend: only this engine.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Newest runs shown.")  # fmt: skip
@click.option(
    "--trend", is_flag=True, help="Headline metrics across the runs, change points marked."
)
@_store_options
def history_command(
    scenario: str | None, engine: str | None, limit: int, trend: bool, **values: Any
) -> int:
    """List past runs, newest last, so a regression stands out."""
    results_dir, settings = _settings(values)
    if not history.has_history(results_dir, settings.url):
        click.echo(f"no runs recorded in {_where(results_dir, settings)}")
        return 0
    with _store(results_dir, settings) as store:
        known = store.scenarios()
        if not known:
            click.echo(f"no runs recorded in {_where(results_dir, settings)}")
            return 0
        if scenario is not None and scenario not in known:
            total = len(store.rows())
            click.echo(
                f"no runs of scenario {scenario!r} among {total} recorded ({', '.join(known)})"
            )
            return 0
        if trend:
            return _trend(store, scenario, engine, limit)
        for line in history.format_table(history.entries(store, scenario=scenario, limit=limit)):
            click.echo(line)
    return 0


def _trend(store: HistoryStore, scenario: str | None, engine: str | None, limit: int) -> int:
    rows = store.rows(scenario=scenario)
    scenarios = sorted({r["scenario"] for r in rows})
    if scenario is None and len(scenarios) > 1:
        raise UsageError(
            f"--trend needs one scenario; the history has {', '.join(scenarios)}",
            hint="add --scenario NAME",
        )
    rows = [r for r in rows if engine is None or r["engine"] == engine][-limit:]
    engines = sorted({r["engine"] for r in rows})
    click.echo(f"trend of {scenarios[0] if scenarios else scenario} ({', '.join(engines)}), "
               f"last {len(rows)} runs")  # fmt: skip
    for line in trends.format_trend(trends.trend(rows)):
        click.echo(line)
    return 0


def _current(store: HistoryStore, run: str) -> RunData:
    """RUN is a run id in the history or a run folder with its summary.json."""
    folder = Path(run)
    if (folder / SUMMARY_FILE).is_file():
        try:
            return RunData.from_summary(RunSummary.read(folder))
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(f"{folder}/{SUMMARY_FILE} cannot be read: {error}") from None
    return store.load([run])[0]


@click.command()
@click.argument("run")
@click.argument("baseline", nargs=-1)
@click.option("--regression", "regressions", multiple=True,
              help='Replaces [history] regressions, e.g. "p95 +10%".')  # fmt: skip
@_store_options
def compare(run: str, baseline: Sequence[str], regressions: Sequence[str], **values: Any) -> int:
    """Compare RUN (a run id or folder) with BASELINE runs (default: its baseline)."""
    results_dir, settings = _settings(values)
    if regressions:
        settings = HistorySettings(
            url=settings.url,
            baseline_runs=settings.baseline_runs,
            regressions=parse_limits(regressions),
        )
    with _store(results_dir, settings) as store:
        current = _current(store, run)
        comparison = compare_run(store, current, settings, [b for b in baseline if b != run])
    if comparison is None:
        raise UsageError(
            f"{current.run_id} has no baseline: no earlier passing run of {current.scenario} on "
            f"{current.engine} with the same plan and target",
            hint="name baseline runs after RUN, or pin them with `loadlab baseline set`",
        )
    click.echo(f"{current.run_id} ({current.scenario}, {current.engine})")
    for line in comparison_lines(comparison):
        click.echo(line)
    regressed = comparison.regressions
    if not settings.judged:
        click.echo("no [history] regressions configured: the default limits above are not judged")
    return EXIT_THRESHOLD_FAILED if regressed else EXIT_PASSED


@click.group()
def baseline() -> None:
    """Pin, show or clear the runs a scenario is compared with."""


@baseline.command("set")
@click.argument("run_ids", nargs=-1, required=True)
@_store_options
def baseline_set(run_ids: Sequence[str], **values: Any) -> int:
    """Pin RUN_IDS as the baseline of their scenario and engine."""
    results_dir, settings = _settings(values)
    with _store(results_dir, settings) as store:
        runs = store.load(list(run_ids))
        kinds = sorted({(r.scenario, r.engine) for r in runs})
        if len(kinds) > 1:
            raise UsageError(
                "a baseline is of one scenario on one engine; these runs are of "
                + ", ".join(f"{s} on {e}" for s, e in kinds),
                hint="pin each scenario's runs separately",
            )
        scenario, engine = kinds[0]
        store.pin(scenario, engine, list(run_ids))
        plans = {r.plan_key() for r in runs}
    click.echo(f"baseline of {scenario} on {engine}: {', '.join(run_ids)}")
    if len(plans) > 1:
        click.echo("note: these runs have different plans; comparisons will say what differs")
    return 0


@baseline.command("show")
@_store_options
def baseline_show(**values: Any) -> int:
    """The pinned baselines; every other scenario uses its last passing runs."""
    results_dir, settings = _settings(values)
    with _store(results_dir, settings) as store:
        pinned = store.all_pinned()
    for scenario, engine, run_ids in pinned:
        click.echo(f"{scenario} on {engine}: pinned {', '.join(run_ids)}")
    click.echo(
        f"{'other scenarios' if pinned else 'every scenario'}: the last "
        f"{settings.baseline_runs} passing runs with the same engine, plan and target"
    )
    return 0


@baseline.command("clear")
@click.option("--scenario", default=None, help="Only this scenario's pinned baseline.")
@click.option("--engine", default=None, help="Only this engine's.")
@_store_options
def baseline_clear(scenario: str | None, engine: str | None, **values: Any) -> int:
    """Unpin baselines: the last passing runs are used again."""
    results_dir, settings = _settings(values)
    with _store(results_dir, settings) as store:
        removed = store.unpin(scenario, engine)
    click.echo(f"cleared {removed} pinned baseline{'s' if removed != 1 else ''}")
    return 0
