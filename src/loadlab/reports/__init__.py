"""Every output of a run, rendered from its one immutable `RunSummary`.

Each output is a `Reporter` in its own module; `write_reports` renders all the file outputs into
the run directory, then sends the points to InfluxDB when asked. A reporter that fails does not
stop the others: every report that can be written is written before the failure is raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from loadlab.reports.csv_tables import CsvReporter
from loadlab.reports.errors import ReportError
from loadlab.reports.html import HtmlReporter
from loadlab.reports.influx import (
    InfluxConfigError,
    InfluxError,
    InfluxReporter,
    InfluxTarget,
    parse_influx_target,
)
from loadlab.reports.json_summary import JsonReporter
from loadlab.reports.junit import JunitReporter
from loadlab.reports.monitor_csv import MonitorCsvReporter
from loadlab.results import RunSummary

__all__ = [
    "REPORTERS",
    "CsvReporter",
    "HtmlReporter",
    "InfluxConfigError",
    "InfluxError",
    "InfluxReporter",
    "InfluxTarget",
    "JsonReporter",
    "JunitReporter",
    "MonitorCsvReporter",
    "ReportError",
    "Reporter",
    "parse_influx_target",
    "reporter_for",
    "write_reports",
]


class Reporter(Protocol):
    name: str

    def write(self, summary: RunSummary, run_dir: Path) -> list[Path]:
        """Write this output for the run into `run_dir`; return the files written."""
        ...


# The file outputs, in the order they are written. InfluxDB is not here: it needs a target.
REPORTERS: dict[str, type[Reporter]] = {
    "json": JsonReporter,
    "html": HtmlReporter,
    "junit": JunitReporter,
    "csv": CsvReporter,
    "monitor-csv": MonitorCsvReporter,
}


def reporter_for(name: str) -> Reporter:
    """The reporter called `name`; an unknown name lists the valid ones."""
    try:
        return REPORTERS[name]()
    except KeyError:
        valid = ", ".join(sorted(REPORTERS))
        raise ReportError(f"unknown report {name!r}; valid reports: {valid}") from None


def write_reports(
    summary: RunSummary, run_dir: Path, *, influxdb: InfluxTarget | None = None
) -> list[Path]:
    """Write every file output, then the InfluxDB points if `influxdb` is given.

    Returns the files written. Raises ReportError (or InfluxError, when only InfluxDB failed)
    after writing everything that could be written.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    failed: list[str] = []
    for name, kind in REPORTERS.items():
        try:
            written.extend(kind().write(summary, run_dir))
        except (OSError, ValueError) as error:
            failed.append(f"{name}: {error}")
    if influxdb is not None:
        try:
            InfluxReporter(influxdb).write(summary, run_dir)
        except InfluxError as error:
            if not failed:
                raise
            failed.append(f"influx: {error}")
    if failed:
        raise ReportError(
            f"could not write {len(failed)} report(s) in {run_dir}: " + "; ".join(failed),
            hint="the other reports were written; fix the cause and run `loadlab report RUN_DIR`",
        )
    return written
