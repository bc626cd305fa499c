"""CSV: the per-endpoint statistics and the per-second timeline, for spreadsheets and scripts.

The stats file keeps Locust's column names, so anything that already reads `--csv` output reads
ours, whichever engine ran. The timeline file joins the load timeline and the monitor samples on
the second, one column per series.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from loadlab.reports.timeline_table import TIMELINE_COLUMNS, join_timeline, origin_epoch_s
from loadlab.results import LatencyStats, RunSummary

TIMELINE_FILE = "timeline.csv"

STATS_COLUMNS = (
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Requests/s",
    "Failures/s",
    "50%",
    "90%",
    "95%",
    "99%",
    "99.9%",
    "100%",
)

# Locust's stats-history names where a column has one; ours (with units) for the rest.
_TIMELINE_HEADERS = {
    "users": "User Count",
    "requests": "Request Count",
    "failures": "Failure Count",
    "rps": "Requests/s",
    "failures_per_s": "Failures/s",
    "p50_ms": "50%",
    "p95_ms": "95%",
    "p99_ms": "99%",
}


def stats_file_name(summary: RunSummary) -> str:
    """`<run_id>_stats.csv`, with anything unsafe in a file name replaced."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", summary.run_id) + "_stats.csv"


class CsvReporter:
    name = "csv"

    def write(self, summary: RunSummary, run_dir: Path) -> list[Path]:
        stats = run_dir / stats_file_name(summary)
        timeline = run_dir / TIMELINE_FILE
        _write_rows(stats, [list(STATS_COLUMNS), *_stats_rows(summary)])
        _write_rows(timeline, _timeline_rows(summary))
        return [stats, timeline]


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    tmp.replace(path)


def _number(value: float | None, missing: str = "") -> str:
    if value is None:
        return missing
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _stats_row(kind: str, name: str, stats: LatencyStats, duration_s: float) -> list[str]:
    # Locust writes "N/A" for a percentile of an endpoint with no requests.
    na = "N/A" if stats.requests == 0 else ""
    failures_per_s = stats.failures / duration_s if duration_s > 0 else 0.0
    return [
        kind,
        name,
        str(stats.requests),
        str(stats.failures),
        _number(stats.p50_ms, na),
        _number(stats.mean_ms, na),
        _number(stats.min_ms, na),
        _number(stats.max_ms, na),
        _number(stats.rps),
        _number(failures_per_s),
        _number(stats.p50_ms, na),
        _number(stats.p90_ms, na),
        _number(stats.p95_ms, na),
        _number(stats.p99_ms, na),
        _number(stats.p999_ms, na),
        _number(stats.max_ms, na),
    ]


def _stats_rows(summary: RunSummary) -> list[list[str]]:
    rows = [_stats_row(e.method, e.name, e, summary.duration_s) for e in summary.endpoints]
    rows.append(_stats_row("", "Aggregated", summary.totals, summary.duration_s))
    return rows


def _timeline_rows(summary: RunSummary) -> list[list[str]]:
    table = join_timeline(summary)
    origin = origin_epoch_s(summary)
    header = ["Timestamp", "t_s"]
    header += [_TIMELINE_HEADERS[c] for c in TIMELINE_COLUMNS]
    header += ["Total Request Count", "Total Failure Count", *table.monitor_columns]
    rows = [header]
    total_requests = 0
    total_failures = 0
    for index, second in enumerate(table.seconds):
        requests = table.columns["requests"][index]
        failures = table.columns["failures"][index]
        total_requests += int(requests or 0)
        total_failures += int(failures or 0)
        row = [str(origin + second), str(second)]
        row += [_number(table.columns[c][index]) for c in TIMELINE_COLUMNS]
        row += [str(total_requests), str(total_failures)]
        row += [_number(table.columns[c][index]) for c in table.monitor_columns]
        rows.append(row)
    return rows
