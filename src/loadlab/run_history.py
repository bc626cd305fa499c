"""The end of `loadlab run` that involves the history: compare the run with its baseline before
the reports are written (they show the comparison), record it after.

A history that fails at the end of a run (a shared PostgreSQL gone away) never costs the run its
reports: the problem is kept and said as a warning.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from loadlab import history
from loadlab.baselines import compare_run, with_regressions
from loadlab.comparison import RunData
from loadlab.errors import EXIT_INTERRUPTED, EXIT_TARGET_OR_ENGINE, LoadlabError
from loadlab.history_config import HistorySettings
from loadlab.history_store import HistoryStore, default_url, describe
from loadlab.results import RunSummary


class RunHistory:
    def __init__(self, results_dir: Path, settings: HistorySettings) -> None:
        self.settings = settings
        self.problems: list[str] = []
        self._results_dir = results_dir
        self._store: HistoryStore | None = None

    def _open(self) -> HistoryStore:
        if self._store is None:
            self._store = history.open_store(self._results_dir, self.settings.url)
        return self._store

    def judge(self, summary: RunSummary) -> RunSummary:
        """The summary with its labels, and its comparison and verdict when it has a baseline."""
        summary = replace(summary, labels=dict(self.settings.labels))
        if summary.verdict.exit_code in (EXIT_INTERRUPTED, EXIT_TARGET_OR_ENGINE):
            return summary  # partial or failed runs are recorded, never compared
        try:
            comparison = compare_run(self._open(), RunData.from_summary(summary), self.settings)
        except (LoadlabError, SQLAlchemyError) as error:
            self._problem("compared", error)
            return summary
        if comparison is None:
            return summary
        return replace(
            summary, comparison=comparison, verdict=with_regressions(summary.verdict, comparison)
        )

    def record(self, summary: RunSummary, run_dir: Path) -> None:
        try:
            self._open().record(summary, run_dir.name)
        except (LoadlabError, SQLAlchemyError) as error:
            self._problem("recorded", error)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def _problem(self, what: str, error: Exception) -> None:
        if isinstance(error, LoadlabError):
            text = error.one_line()
        else:
            where = describe(self.settings.url or default_url(self._results_dir))
            text = f"history {where}: {(str(error).splitlines() or [type(error).__name__])[0]}"
        self.problems.append(f"the run was not {what} in the history: {text}")
