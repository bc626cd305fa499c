"""The HTML report's comparison section: this run against its baseline over time (latency
percentiles and throughput overlaid), the table of changes coloured by verdict, and the trend of
the scenario's runs with its change points (docs/baselines.md)."""

from __future__ import annotations

import json
from typing import Any

from loadlab.baselines import change_text
from loadlab.comparison_result import Comparison
from loadlab.reports.formatting import format_value

_NONE = "\u2013"
_TREND_SERIES = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))


def comparison_view(comparison: Comparison | None) -> dict[str, Any] | None:
    """What the template shows; None when the run had no baseline."""
    if comparison is None:
        return None
    rows = []
    for change in comparison.changes:
        rows.append(
            {
                "limit": change.limit,
                "endpoint": change.endpoint or "all requests",
                "baseline": _value(change.baseline, change.unit),
                "current": _value(change.current, change.unit),
                "change": _NONE if change.change is None else change_text(change),
                "verdict": change.verdict,
                "judged": change.judged,
                "detail": change.detail,
                "method": change.method,
            }
        )
    return {
        "baseline_runs": comparison.baseline_runs,
        "baseline_kind": comparison.baseline_kind,
        "differences": comparison.differences,
        "confidence_percent": round(comparison.confidence * 100),
        "rows": rows,
        "data_json": _data_json(comparison),
    }


def _value(value: float | None, unit: str) -> str:
    return _NONE if value is None else format_value(value, unit)


def _data_json(comparison: Comparison) -> str:
    series = comparison.series
    trend = series.get("trend", {})
    values = trend.get("values", {})
    points = trend.get("change_points", {})
    data = {
        "overlay": {key: series.get(key, []) for key in series if key != "trend"},
        "trend": {
            "run_ids": trend.get("run_ids", []),
            "series": [
                {
                    "label": label,
                    "values": values.get(key, []),
                    "change_points": points.get(key, []),
                }
                for key, label in _TREND_SERIES
            ],
        },
    }
    # "<" escaped so no string in the data can close the <script> element it sits in.
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
