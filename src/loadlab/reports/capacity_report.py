"""A capacity search's outputs: `summary.json` with every step, and `report.html` with the knee.

The knee chart plots, against the rate asked, the throughput achieved, the latency percentiles
(from each arrival's due time) and the error rate: where throughput stops following the rate and
latency turns up is the limit. Like the run report, the page inlines everything it needs.
"""

from __future__ import annotations

import json
from pathlib import Path

from loadlab.capacity import CapacityResult
from loadlab.reports.html import templates, uplot_assets

SUMMARY_FILE = "summary.json"
HTML_FILE = "report.html"


def write_capacity(result: CapacityResult, folder: Path) -> list[Path]:
    written = []
    for name, text in (
        (SUMMARY_FILE, json.dumps(result.to_dict(), indent=2) + "\n"),
        (HTML_FILE, render_capacity(result)),
    ):
        path = folder / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def render_capacity(result: CapacityResult) -> str:
    ordered = sorted(result.steps, key=lambda s: s.rate_per_s)
    knee = {
        "rate": [s.rate_per_s for s in ordered],
        "throughput": [s.throughput_per_s for s in ordered],
        "p50": [s.p50_ms for s in ordered],
        "p95": [s.p95_ms for s in ordered],
        "p99": [s.p99_ms for s in ordered],
        "errors": [s.error_rate for s in ordered],
        "held": [s.held for s in ordered],
    }
    data_json = json.dumps(knee, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return (
        templates()
        .get_template("capacity.html.j2")
        .render(result=result, steps=result.steps, data_json=data_json, **uplot_assets())
    )
