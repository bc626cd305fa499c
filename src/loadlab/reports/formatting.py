"""How numbers and threshold outcomes read in every human-facing report.

The HTML page and the JUnit failure messages quote the same words, so a value reads the same
wherever a person meets it.
"""

from __future__ import annotations

from loadlab.results import ThresholdResult

_MB = 1_000_000

# unit -> (factor applied to the value, suffix shown after it)
_UNIT_DISPLAY: dict[str, tuple[float, str]] = {
    "ms": (1.0, " ms"),
    "s": (1.0, " s"),
    "percent": (1.0, "%"),
    "rate": (100.0, "%"),
    "bytes": (1 / _MB, " MB"),
    "bytes_per_10m": (1 / _MB, " MB/10m"),
    "per_s": (1.0, "/s"),
    "count": (1.0, ""),
}


def format_number(value: float) -> str:
    """Four or so significant digits, trailing zeros dropped: 612.3, 0.25, 1500, 0.000123."""
    magnitude = abs(value)
    if magnitude >= 100:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    elif magnitude == 0:
        return "0"
    else:
        text = f"{value:.3g}"
        if "e" in text:
            return text
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_value(value: float | None, unit: str) -> str:
    """A measured value with its unit, or "no data"."""
    if value is None:
        return "no data"
    factor, suffix = _UNIT_DISPLAY.get(unit, (1.0, f" {unit}" if unit else ""))
    return f"{format_number(value * factor)}{suffix}"


def subject(threshold: ThresholdResult) -> str:
    """What a threshold measures: the metric, and the endpoint when it is about one."""
    if threshold.endpoint:
        return f"{threshold.metric} of {threshold.endpoint}"
    return threshold.metric


def limit_text(threshold: ThresholdResult) -> str:
    return f"{threshold.operator} {format_value(threshold.limit, threshold.unit)}"


def threshold_message(threshold: ThresholdResult) -> str:
    """One line quoting the measured value and the limit: "p95 = 612.3 ms, limit < 500 ms"."""
    measured = format_value(threshold.measured, threshold.unit)
    return f"{subject(threshold)} = {measured}, limit {limit_text(threshold)}"


def unit_from_name(name: str) -> str:
    """The canonical unit a series or aggregate carries in its name (`rss_end_bytes` -> bytes)."""
    for marker, unit in (
        ("_bytes_per_10m", "bytes_per_10m"),
        ("_bytes", "bytes"),
        ("_percent", "percent"),
        ("_ms", "ms"),
        ("_per_s", "per_s"),
        ("_s", "s"),
    ):
        if name.endswith(marker) or f"{marker}_" in name:
            return unit
    return ""
