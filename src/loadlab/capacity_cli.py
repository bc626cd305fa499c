"""`loadlab capacity`: the search of capacity.py run as open-model steps, and its outputs.

The embedded platform (when no --host is given) is started once for the whole search; each step
is an ordinary run with its own folder under the search's `steps/`, neither compared with a
baseline nor recorded in the history (a step is not a run of the scenario's usual load).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from loadlab.capacity import SearchSettings, Step, conclude, search
from loadlab.errors import EXIT_INTERRUPTED, Interrupted, UsageError
from loadlab.plan import MAX_USERS, Options, RunPlan, resolve_plan
from loadlab.preflight import Problems
from loadlab.progress import Progress
from loadlab.rates import parse_rate
from loadlab.reports.capacity_report import write_capacity
from loadlab.runner import execute, new_run_dir
from loadlab.scenarios import Config
from loadlab.target import TargetInfo, embedded_platform
from loadlab.units import format_duration, parse_duration

DEFAULT_SCENARIO = "stress-open"


def run_capacity(scenario: str, config_path: Path | None, values: dict[str, Any]) -> int:
    problems = Problems()  # the search's options, loadlab.toml and the plan, named at once
    found = problems.gather(lambda: search_settings(values))
    quiet = values.pop("no_progress", False)
    options = Options.of(values)
    read = problems.config(config_path)
    # With refused search options the default ones stand in: the plan's own checks still run.
    trial = found or SearchSettings()
    first = problems.plan(
        read,
        scenario,
        lambda config: _step_plan(
            config, scenario, options, trial, rate=trial.start_per_s, results_dir=None
        ),
    )
    problems.raise_any()
    # raise_any raised unless every check gave its result
    assert found is not None
    assert first is not None
    assert read.config is not None
    settings, config = found, read.config
    started = datetime.now(UTC)
    folder = new_run_dir(first.results_dir, f"{started:%Y%m%d-%H%M%S}-capacity-{scenario}")
    progress = Progress(sys.stderr, enabled=not quiet)
    with _target(first, folder, progress) as target:

        def run_step(rate: float) -> Step:
            plan = _step_plan(
                config, scenario, options, settings, rate=rate, results_dir=folder / "steps"
            )
            progress.message(
                f"step {rate:g}/s: {format_duration(settings.warmup_s)} warm-up, "
                f"{format_duration(settings.step_s)} judged"
            )
            outcome = execute(plan, progress, target=target)
            if outcome.summary.verdict.exit_code == EXIT_INTERRUPTED:
                raise Interrupted("capacity search interrupted", hint="steps so far are kept")
            step = Step.of(rate, outcome.summary, settings.warmup_s)
            progress.message(_step_line(step))
            return step

        steps = search(settings, run_step)
    result = conclude(scenario, first.engine, _host(first, folder), settings, steps)
    written = write_capacity(result, folder)
    for step in result.steps:
        click.echo(_step_line(step))
    click.echo(result.line)
    click.echo(f"results: {folder} ({', '.join(p.name for p in written)})")
    return result.exit_code


def search_settings(values: dict[str, Any]) -> SearchSettings:
    """The search's own options, checked together; every problem in one error."""
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for key, flag in (("start_rate", "--start-rate"), ("max_rate", "--max-rate")):
        text = values.pop(key)
        parsed[key] = _parsed(flag, text, parse_rate, problems)
    minimum = values.pop("min_capacity")
    parsed["min"] = (
        None if minimum is None else _parsed("--min-capacity", minimum, parse_rate, problems)
    )
    for key, flag in (("step_time", "--step-time"), ("warmup", "--warmup")):
        parsed[key] = _parsed(flag, values.pop(key), parse_duration, problems)
    factor, resolution = values.pop("step"), values.pop("resolution")
    if factor <= 1.0:
        problems.append(f"--step {factor:g} must be above 1 (the factor between rising rates)")
    if not 0 < resolution < 100:
        problems.append(f"--resolution {resolution:g} must be a percentage between 0 and 100")
    if parsed.get("step_time") is not None and parsed["step_time"] < 2:
        problems.append("--step-time must be at least 2s")
    if parsed.get("warmup") is not None and parsed["warmup"] < 0:
        problems.append("--warmup cannot be negative")
    if not problems and parsed["max_rate"] < parsed["start_rate"]:
        problems.append("--max-rate must not be below --start-rate")
    if parsed["max_rate"] is not None and parsed["max_rate"] > MAX_USERS:
        # Else found only when the search climbs there, as the step's plan refuses its rate.
        problems.append(f"--max-rate is above what one run sends (at most {MAX_USERS:,}/s)")
    if problems:
        raise UsageError("; ".join(problems))
    return SearchSettings(
        start_per_s=parsed["start_rate"],
        max_per_s=parsed["max_rate"],
        factor=factor,
        resolution=resolution / 100.0,
        step_s=parsed["step_time"],
        warmup_s=parsed["warmup"],
        min_capacity_per_s=parsed["min"],
    )


def _parsed(flag: str, text: str, parse: Any, problems: list[str]) -> Any:
    try:
        return parse(text)
    except ValueError as error:
        problems.append(f"{flag}: {error}")
        return None


def _step_plan(
    config: Config,
    scenario: str,
    options: Options,
    settings: SearchSettings,
    *,
    rate: float,
    results_dir: Path | None,
) -> RunPlan:
    if options.rate is not None or options.rate_stages is not None:
        raise UsageError("capacity sets the rates itself: give --start-rate and --max-rate")
    run_time = f"{round((settings.warmup_s + settings.step_s) * 1000)}ms"
    where = options.results_dir if results_dir is None else str(results_dir)
    step = replace(options, rate=f"{rate:g}/s", run_time=run_time, results_dir=where)
    plan = resolve_plan(config, scenario, step)
    return replace(plan, warmup_s=settings.warmup_s)


@contextlib.contextmanager
def _target(plan: RunPlan, folder: Path, progress: Progress) -> Iterator[TargetInfo | None]:
    """The embedded platform, started once for every step; None when --host names the target."""
    if plan.host is not None:
        yield None
        return
    progress.message("starting the embedded platform...")
    with embedded_platform(
        folder, seed_size=plan.seed_size, database_url=plan.db_url, announce=progress.message
    ) as target:
        progress.message(f"platform ready at {target.base_url}")
        yield target


def _host(plan: RunPlan, folder: Path) -> str:
    return plan.host or f"embedded platform (log: {folder / 'platform.log'})"


def _step_line(step: Step) -> str:
    p99 = "-" if step.p99_ms is None else f"{step.p99_ms:.1f} ms"
    word = "held" if step.held else "failed"
    why = "" if step.held or not step.failed else f": {'; '.join(step.failed)}"
    return (
        f"  {step.rate_per_s:g}/s {word}: {step.throughput_per_s:.1f} req/s, p99 {p99}, "
        f"{step.error_rate:.2f}% errors, {step.dropped} dropped{why}"
    )
