"""A k6 script's own thresholds as k6 judged them, with the value k6 compared and its unit.

k6's `--summary-export` says which thresholds were crossed, and holds each metric's figures: for
a Trend only the `summaryTrendStats`, so the run asks for every statistic a threshold compares and
for `count` (`summary_trend_stats`). A Trend or Rate without samples passes in k6 whatever its
limit; its line says "no samples" (the status stays k6's).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from loadlab.results import ThresholdResult

# k6's default summaryTrendStats.
DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")
JUDGED = "judged by k6 (the script's options.thresholds)"
NO_SAMPLES = "k6 passes a threshold without samples, whatever its limit"

# k6's built-in metrics by kind (k6 docs, "Built-in metrics"); a script's own are unknown here.
_TIME_TRENDS = frozenset({
    "http_req_duration", "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking",
    "http_req_sending", "http_req_waiting", "http_req_receiving", "iteration_duration",
    "group_duration", "ws_connecting", "ws_session_duration", "ws_ping", "grpc_req_duration",
    "browser_http_req_duration", "browser_web_vital_fcp", "browser_web_vital_lcp",
    "browser_web_vital_inp", "browser_web_vital_fid", "browser_web_vital_ttfb",
})  # fmt: skip
_BYTE_COUNTERS = frozenset(
    {"data_received", "data_sent", "browser_data_received", "browser_data_sent"}
)
_COUNTERS = frozenset({
    "http_reqs", "iterations", "dropped_iterations", "ws_msgs_sent", "ws_msgs_received",
    "ws_sessions", "grpc_streams", "grpc_streams_msgs_sent", "grpc_streams_msgs_received",
})  # fmt: skip
_GAUGES = frozenset({"vus", "vus_max"})

_THRESHOLD = re.compile(
    r"^\s*(?P<agg>[a-z]+(?:\([\d.]+\))?)\s*(?P<op><=|>=|==|<|>)\s*(?P<limit>\S+)\s*$"
)
_TREND_STAT = re.compile(r"^(avg|min|med|max|p\([\d.]+\))$")


def summary_trend_stats(options: dict[str, Any]) -> str:
    """`--summary-trend-stats`: the script's own (or k6's default), every statistic its
    thresholds compare, and `count`, so the export holds each compared value."""
    stats = list(options.get("summaryTrendStats") or DEFAULT_TREND_STATS)
    for entries in dict(options.get("thresholds") or {}).values():
        for entry in entries or ():
            text = entry.get("threshold", "") if isinstance(entry, dict) else str(entry)
            match = _THRESHOLD.match(text)
            if match and _TREND_STAT.match(match.group("agg")):
                stats.append(match.group("agg"))
    stats.append("count")
    return ",".join(dict.fromkeys(stats))


def unit_of(metric: str, aggregation: str) -> str:
    """The unit of what a k6 threshold compares ("" when unknown, or a Rate's 0..1 fraction)."""
    name = metric.partition("{")[0]  # a submetric: http_req_duration{status:200}
    if aggregation == "count":
        return "bytes" if name in _BYTE_COUNTERS else "count"
    if name in _TIME_TRENDS and _TREND_STAT.match(aggregation):
        return "ms"
    if aggregation == "rate" and name in _BYTE_COUNTERS:
        return "bytes_per_s"
    if aggregation == "rate" and name in _COUNTERS:
        return "per_s"
    if name in _GAUGES:
        return "count"
    return ""


def _sampled(values: dict[str, Any]) -> bool:
    """False when the export shows a Trend or a Rate that received no sample."""
    if "passes" in values and "fails" in values:  # a Rate
        return bool(values["passes"] or values["fails"])
    if "med" in values and "count" in values:  # a Trend with its count asked for
        return bool(values["count"])
    return True


def script_thresholds(path: Path) -> tuple[ThresholdResult, ...]:
    """The script's options.thresholds as k6 judged them (--summary-export), with the value k6
    compared. In the export, a threshold's `true` means it was crossed: that one failed."""
    try:
        metrics = json.loads(path.read_text())["metrics"]
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    results = []
    for metric, values in sorted(metrics.items()):
        if not isinstance(values, dict):
            continue
        sampled = _sampled(values)
        for expression, crossed in dict(values.get("thresholds") or {}).items():
            match = _THRESHOLD.match(expression)
            operator, limit, measured, unit = "", 0.0, None, ""
            if match is not None:
                aggregation = match.group("agg")
                operator = match.group("op")
                limit = _float(match.group("limit")) or 0.0
                key = "value" if aggregation == "rate" and "value" in values else aggregation
                measured = _float(values.get(key)) if sampled else None
                unit = unit_of(metric, aggregation)
            results.append(
                ThresholdResult(
                    expression=f"{metric}: {expression}",
                    metric=metric,
                    endpoint=None,
                    operator=operator,
                    limit=limit,
                    unit=unit,
                    measured=measured,
                    status="fail" if crossed else "pass",
                    detail=JUDGED if sampled else NO_SAMPLES,
                    source="k6",
                )
            )
    return tuple(results)


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
