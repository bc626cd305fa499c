"""The run as InfluxDB line protocol, so its numbers land in the dashboards a team already has.

Measurements (all tagged with run_id, scenario and engine):

- `loadlab_timeline`: one point per second of load (user_count, requests, failures, rps,
  p50_ms/p95_ms/p99_ms);
- `loadlab_monitor`: one point per monitor sample, one field per series;
- `loadlab_endpoint`: the final stats of each endpoint, tagged method and name;
- `loadlab_totals`: the final stats of the run, its verdict and exit code;
- `loadlab_threshold`: each threshold, tagged with its expression, metric and status;
- `loadlab_error`: each error group, tagged method, name and message;
- `loadlab_regression`: each change against the baseline (docs/baselines.md), tagged with its
  limit, metric, endpoint and verdict.

Timeline and monitor points carry the run clock's origin + their `t_s` (the times of timeline.csv's
rows); final stats carry the run's finish time. Timestamps are in milliseconds (`precision=ms`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from loadlab.reports.timeline_table import origin_epoch_s, start_epoch_s
from loadlab.results import LatencyStats, RunSummary

FieldValue = float | int | bool | str | None

MAX_TAG_LENGTH = 200


def _escape_key(text: str) -> str:
    """Tag keys, tag values and field keys: commas, equals signs and spaces are escaped."""
    text = text.replace("\\", "\\\\").replace("\n", " ").replace("\r", " ")
    return text.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_measurement(text: str) -> str:
    return text.replace(",", "\\,").replace(" ", "\\ ")


def _field(value: FieldValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(
    measurement: str,
    tags: Mapping[str, str | None],
    fields: Mapping[str, FieldValue],
    timestamp_ms: int,
) -> str | None:
    """One line of line protocol; None when no field has a value (InfluxDB needs one)."""
    tag_text = "".join(
        f",{_escape_key(key)}={_escape_key(value[:MAX_TAG_LENGTH])}"
        for key, value in sorted(tags.items())
        if value  # InfluxDB rejects empty tag values
    )
    field_parts = []
    for key, value in fields.items():
        encoded = _field(value)
        if encoded is not None:
            field_parts.append(f"{_escape_key(key)}={encoded}")
    if not field_parts:
        return None
    return f"{_escape_measurement(measurement)}{tag_text} {','.join(field_parts)} {timestamp_ms}"


def _stats_fields(stats: LatencyStats) -> dict[str, FieldValue]:
    return {
        "requests": stats.requests,
        "failures": stats.failures,
        "error_rate": float(stats.error_rate),
        "rps": float(stats.rps),
        **{
            key: None if value is None else float(value)
            for key, value in (
                ("mean_ms", stats.mean_ms),
                ("min_ms", stats.min_ms),
                ("max_ms", stats.max_ms),
                ("p50_ms", stats.p50_ms),
                ("p90_ms", stats.p90_ms),
                ("p95_ms", stats.p95_ms),
                ("p99_ms", stats.p99_ms),
                ("p999_ms", stats.p999_ms),
            )
        },
    }


def _finished_ms(summary: RunSummary) -> int:
    try:
        finished = datetime.fromisoformat(summary.finished_at)
    except ValueError:
        return round((start_epoch_s(summary) + summary.duration_s) * 1000)
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=UTC)
    return round(finished.timestamp() * 1000)


def summary_lines(summary: RunSummary) -> Iterator[str]:
    """Every point of the run, timeline first, then the final stats."""
    run: dict[str, str | None] = {
        "run_id": summary.run_id,
        "scenario": summary.scenario,
        "engine": summary.engine,
    }
    candidates: Iterator[str | None] = _timeline_lines(summary, run, origin_epoch_s(summary))
    yield from (text for text in candidates if text is not None)
    finished = _finished_ms(summary)
    verdict = summary.verdict
    totals = {
        **_stats_fields(summary.totals),
        "duration_s": float(summary.duration_s),
        "interrupted": summary.interrupted,
        "passed": verdict.passed,
        "exit_code": verdict.exit_code,
        "reason": verdict.reason,
    }
    final: list[str | None] = [line("loadlab_totals", run, totals, finished)]
    for endpoint in summary.endpoints:
        tags = {**run, "method": endpoint.method, "name": endpoint.name}
        final.append(line("loadlab_endpoint", tags, _stats_fields(endpoint), finished))
    for threshold in summary.thresholds:
        tags = {
            **run,
            "expression": threshold.expression,
            "metric": threshold.metric,
            "endpoint": threshold.endpoint,
            "status": threshold.status,
        }
        fields: dict[str, FieldValue] = {
            "measured": None if threshold.measured is None else float(threshold.measured),
            "limit": float(threshold.limit),
            "unit": threshold.unit,
            "passed": threshold.status == "pass",
        }
        final.append(line("loadlab_threshold", tags, fields, finished))
    for error in summary.errors:
        tags = {**run, "method": error.method, "name": error.name, "message": error.message}
        fields = {"occurrences": error.occurrences, "message": error.message}
        final.append(line("loadlab_error", tags, fields, finished))
    final.extend(_regression_lines(summary, run, finished))
    yield from (text for text in final if text is not None)


def _regression_lines(
    summary: RunSummary, run: Mapping[str, str | None], finished: int
) -> Iterator[str | None]:
    comparison = summary.comparison
    if comparison is None:
        return
    for change in comparison.changes:
        tags = {
            **run,
            "limit": change.limit,
            "metric": change.metric,
            "endpoint": change.endpoint,
            "verdict": change.verdict,
        }
        fields: dict[str, FieldValue] = {
            "baseline": change.baseline,
            "current": change.current,
            "change": change.change,
            "ci_low": change.ci_low,
            "ci_high": change.ci_high,
            "change_unit": change.change_unit,
            "judged": change.judged,
            "regressed": change.verdict == "regressed",
            "baseline_runs": ",".join(comparison.baseline_runs),
        }
        yield line("loadlab_regression", tags, fields, finished)


def _timeline_lines(
    summary: RunSummary, run: Mapping[str, str | None], origin_s: int
) -> Iterator[str | None]:
    for point in summary.timeline:
        fields: dict[str, FieldValue] = {
            # "users" is an InfluxQL keyword; a name that needs no quoting is kinder to dashboards.
            "user_count": point.users,
            "requests": point.requests,
            "failures": point.failures,
            "rps": float(point.rps),
            "p50_ms": None if point.p50_ms is None else float(point.p50_ms),
            "p95_ms": None if point.p95_ms is None else float(point.p95_ms),
            "p99_ms": None if point.p99_ms is None else float(point.p99_ms),
        }
        yield line("loadlab_timeline", run, fields, (origin_s + point.t_s) * 1000)
    for sample in summary.monitor.samples:
        t_s = sample.get("t_s")
        if t_s is None or not math.isfinite(t_s):
            continue
        values: dict[str, FieldValue] = {
            key: None if value is None else float(value)
            for key, value in sample.items()
            if key != "t_s"
        }
        yield line("loadlab_monitor", run, values, origin_s * 1000 + round(t_s * 1000))
