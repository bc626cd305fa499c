"""`monitor.csv`: the monitor's samples, one row per sample, written from the summary.

Like every other output it is rendered from `summary.json`, so `loadlab report RUN_DIR` writes it
again; the columns are the catalogue's series in order, then any other series, then nothing.
"""

from __future__ import annotations

from pathlib import Path

from loadlab.monitor.result import SAMPLES_CSV, write_samples
from loadlab.results import RunSummary


class MonitorCsvReporter:
    name = "monitor-csv"

    def write(self, summary: RunSummary, run_dir: Path) -> list[Path]:
        return [write_samples(summary.monitor.samples, run_dir / SAMPLES_CSV)]
