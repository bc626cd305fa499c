"""The one check before a command starts: the options, loadlab.toml, the plan, `[history]` and its
database, and `--influxdb`, checked in one pass and named in one usage error (exit 2).

Each source is checked as far as the others allow. The plan needs the configuration: when a file
cannot be read, or `[defaults]` or the scenario's table has a refused value, the plan is not
resolved (it would be checked against values the user did not write) and the error says so; the
history's database needs the configuration's `[history]` and results folder in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from loadlab import history
from loadlab.errors import EXIT_USAGE, LoadlabError, UsageError
from loadlab.history_config import HistorySettings, history_settings
from loadlab.plan import Options, RunPlan, resolve_plan
from loadlab.scenarios import Config, ConfigRead, read_config

T = TypeVar("T")


class Problems:
    """Every usage problem found so far, from every source; `raise_any` names them at once."""

    def __init__(self) -> None:
        self._found: list[str] = []

    def gather(self, check: Callable[[], T]) -> T | None:
        """The check's result, or None with its usage error kept; any other error goes on."""
        try:
            return check()
        except LoadlabError as error:
            if error.exit_code != EXIT_USAGE:
                raise
            self._found.append(error.one_line())
            return None

    def config(self, path: Path | None) -> ConfigRead:
        read = read_config(path)
        if read.error is not None:
            self._found.append(read.error.one_line())
        return read

    def plan(self, read: ConfigRead, scenario: str, resolve: Callable[[Config], T]) -> T | None:
        """`resolve` on the configuration, when `scenario`'s plan can be resolved on it."""
        config = read.for_plan(scenario)
        if config is None:
            self._found.append(
                f"{scenario!r} and the options of its plan are checked once the configuration "
                "is fixed"
            )
            return None
        return self.gather(lambda: resolve(config))

    def raise_any(self) -> None:
        if self._found:
            raise UsageError("; ".join(self._found))


@dataclass(frozen=True)
class CheckedRun:
    plan: RunPlan
    history: HistorySettings


def check_run(
    problems: Problems,
    scenario: str,
    config_path: Path | None,
    options: Options,
    *,
    labels: Sequence[str],
    history_url: str | None,
) -> CheckedRun:
    """`loadlab run`'s plan and history, with what `problems` holds already (--influxdb)."""
    read = problems.config(config_path)
    plan = problems.plan(read, scenario, lambda config: resolve_plan(config, scenario, options))
    config = read.config
    table = config.history if config is not None else {}
    settings = problems.gather(lambda: history_settings(table, url=history_url, labels=labels))
    if settings is not None and config is not None and "history" not in read.refused:
        results_dir = plan.results_dir if plan else Path(options.results_dir or config.results_dir)
        # An unreachable history is found before the load, not after it.
        problems.gather(lambda: history.check_store(results_dir, settings.url))
    problems.raise_any()
    assert plan is not None  # raise_any raised unless every check gave its result
    assert settings is not None
    return CheckedRun(plan=plan, history=settings)
