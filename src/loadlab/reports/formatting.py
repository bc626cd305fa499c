"""How threshold outcomes read in every human-facing report.

The HTML page, the JUnit failure messages and the terminal quote the same words; numbers and units
are formatted by the metric catalogue (`loadlab.metrics`), so a value reads the same everywhere.
"""

from __future__ import annotations

from loadlab.metrics import format_number, format_value, unit_of
from loadlab.results import ThresholdResult
from loadlab.verdict import measured_text

__all__ = [
    "format_number",
    "format_value",
    "limit_text",
    "subject",
    "threshold_message",
    "unit_of",
]


def subject(threshold: ThresholdResult) -> str:
    """What a threshold measures: the metric, and the endpoint when it is about one."""
    if threshold.endpoint:
        return f"{threshold.metric} of {threshold.endpoint}"
    return threshold.metric


def limit_text(threshold: ThresholdResult) -> str:
    return f"{threshold.operator} {format_value(threshold.limit, threshold.unit)}"


def threshold_message(threshold: ThresholdResult) -> str:
    """One line quoting the measured value and the limit: "p95 = 612.3 ms, limit < 500 ms"."""
    return f"{subject(threshold)} = {measured_text(threshold)}, limit {limit_text(threshold)}"
