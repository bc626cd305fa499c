"""The JSON output is `summary.json` itself: the one result every other report is rendered from.

`loadlab run` writes it before the reports; this reporter only makes sure a run directory never
lacks it (a summary built in memory and rendered straight away). An existing file is left alone:
the summary is immutable, and rewriting it from a re-read copy could only lose information.
"""

from __future__ import annotations

from pathlib import Path

from loadlab.results import SUMMARY_FILE, RunSummary


class JsonReporter:
    name = "json"

    def write(self, summary: RunSummary, run_dir: Path) -> list[Path]:
        path = run_dir / SUMMARY_FILE
        if not path.exists():
            summary.write(run_dir)
        return [path]
