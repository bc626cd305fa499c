"""The HTML report: one self-contained page a person opens from disk to see what happened.

Everything the page needs (styles, the uPlot charting library, the data) is inlined, so it works
offline, from an e-mail attachment or a CI artifact, and fetches nothing from the network.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from loadlab.rates import describe
from loadlab.reports.charts import chart_payload
from loadlab.reports.comparison_section import comparison_view
from loadlab.reports.formatting import format_number, format_value, limit_text, unit_of
from loadlab.reports.timeline_table import join_timeline
from loadlab.results import GeneratorWorker, LatencyStats, RunSummary, ThresholdResult
from loadlab.verdict import STATUS_WORDS, measured_text

HTML_FILE = "report.html"
MAX_ERROR_GROUPS = 100
# Long enough for an exception's message; a response body pasted into it stays in summary.json.
MAX_MESSAGE_CHARS = 300

# An en dash reads as "nothing measured" in a table without looking like a minus sign.
_NONE = "\u2013"

_STATUS_TEXT = STATUS_WORDS


class HtmlReporter:
    name = "html"

    def write(self, summary: RunSummary, run_dir: Path) -> list[Path]:
        path = run_dir / HTML_FILE
        tmp = path.with_suffix(".html.tmp")
        tmp.write_text(render_html(summary), encoding="utf-8")
        tmp.replace(path)
        return [path]


def templates() -> jinja2.Environment:
    """The reports' templates, autoescaped; a name a template uses but is not given fails."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("loadlab.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def uplot_assets() -> dict[str, str]:
    """The charting library, inlined so a page fetches nothing."""
    assets = resources.files("loadlab.reports") / "assets"
    return {
        "uplot_js": (assets / "uPlot.iife.min.js").read_text(encoding="utf-8"),
        "uplot_css": (assets / "uPlot.min.css").read_text(encoding="utf-8"),
    }


def render_html(summary: RunSummary) -> str:
    environment = templates()
    payload = chart_payload(join_timeline(summary))
    # "<" escaped so no string in the data can close the <script> element it sits in.
    data_json = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    errors, errors_hidden = _error_groups(summary)
    return environment.get_template("report.html.j2").render(
        summary=summary,
        duration=_duration(summary.duration_s),
        generator_cpu=format_value(summary.verdict.generator_cpu_percent_max, "percent"),
        kpis=_kpis(summary),
        thresholds=[_threshold_row(t) for t in summary.thresholds],
        charts=payload["charts"],
        endpoints=_endpoint_rows(summary),
        errors=errors,
        errors_hidden=errors_hidden,
        generators=[_generator_row(w) for w in summary.generators],
        facts=_facts(summary),
        data_json=data_json,
        comparison=comparison_view(summary.comparison),
        **uplot_assets(),
    )


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{format_number(seconds)} s"


def _ms(value: float | None) -> str:
    return _NONE if value is None else format_number(value)


def _kpis(summary: RunSummary) -> list[dict[str, Any]]:
    totals = summary.totals
    peak_users = max((p.users for p in summary.timeline), default=summary.plan.users)
    return [
        {"label": "Requests", "value": f"{totals.requests:,}", "bad": False},
        {"label": "Failures", "value": f"{totals.failures:,}", "bad": totals.failures > 0},
        {
            "label": "Error rate",
            "value": format_value(totals.error_rate, "percent"),
            "bad": totals.failures > 0,
        },
        {"label": "Throughput", "value": f"{format_number(totals.rps)} req/s", "bad": False},
        {"label": "p95", "value": format_value(totals.p95_ms, "ms"), "bad": False},
        {"label": "p99", "value": format_value(totals.p99_ms, "ms"), "bad": False},
        *_open_model_kpis(summary),
        {"label": "Peak users", "value": str(peak_users), "bad": False},
    ]


def _open_model_kpis(summary: RunSummary) -> list[dict[str, Any]]:
    """Open model: p95 and p99 above count from the due time; these from sending, and drops."""
    open_model = summary.open_model
    if open_model is None:
        return []
    return [
        {
            "label": "Service p95",
            "value": format_value(open_model.service.p95_ms, "ms"),
            "bad": False,
        },
        {
            "label": "Dropped arrivals",
            "value": f"{open_model.dropped:,}",
            "bad": open_model.dropped > 0,
        },
    ]


def _threshold_row(threshold: ThresholdResult) -> dict[str, Any]:
    return {
        "expression": threshold.expression
        + ("" if threshold.source == "loadlab" else f" (judged by {threshold.source})"),
        "measured": measured_text(threshold),
        "limit": limit_text(threshold),
        "status": threshold.status,
        "status_text": _STATUS_TEXT.get(threshold.status, threshold.status),
        "detail": threshold.detail,
    }


def _stats_row(method: str, name: str, stats: LatencyStats, total: bool) -> dict[str, Any]:
    return {
        "method": method,
        "name": name,
        "total": total,
        "requests": f"{stats.requests:,}",
        "failures": f"{stats.failures:,}",
        "failures_bad": stats.failures > 0,
        "p50": _ms(stats.p50_ms),
        "p90": _ms(stats.p90_ms),
        "p95": _ms(stats.p95_ms),
        "p99": _ms(stats.p99_ms),
        "p999": _ms(stats.p999_ms),
        "max": _ms(stats.max_ms),
        "rps": format_number(stats.rps),
    }


def _endpoint_rows(summary: RunSummary) -> list[dict[str, Any]]:
    rows = [_stats_row(e.method, e.name, e, total=False) for e in summary.endpoints]
    rows.append(_stats_row("", "Aggregated", summary.totals, total=True))
    return rows


def _generator_row(worker: GeneratorWorker) -> dict[str, Any]:
    if worker.lost_at_s is not None:
        state = f"lost {worker.lost_at_s:.0f}s into the run"
    else:
        state = "saturated" if worker.saturated else "to the end"
    return {
        "index": worker.index,
        "host": worker.host,
        "requests": f"{worker.requests:,}",
        "failures": f"{worker.failures:,}",
        "failures_bad": worker.failures > 0,
        "cpu_mean": format_value(worker.cpu_percent_mean, "percent"),
        "cpu_max": format_value(worker.cpu_percent_max, "percent"),
        "saturated": worker.saturated,
        "offset": f"{worker.clock_offset_s:+.1f} s",
        "state": state,
        "bad": worker.saturated or worker.lost_at_s is not None,
    }


def _error_groups(summary: RunSummary) -> tuple[list[dict[str, Any]], int]:
    """Errors grouped by message, the most frequent first; the rest counted, not listed."""
    occurrences: dict[str, int] = defaultdict(int)
    endpoints: dict[str, list[str]] = defaultdict(list)
    for error in summary.errors:
        occurrences[error.message] += error.occurrences
        endpoint = f"{error.method} {error.name}".strip()
        if endpoint not in endpoints[error.message]:
            endpoints[error.message].append(endpoint)
    ranked = sorted(occurrences, key=lambda m: (-occurrences[m], m))
    shown = [
        {
            "message": _shorten(message),
            "endpoints": ", ".join(endpoints[message]),
            "occurrences": f"{occurrences[message]:,}",
        }
        for message in ranked[:MAX_ERROR_GROUPS]
    ]
    return shown, max(0, len(ranked) - MAX_ERROR_GROUPS)


def _shorten(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[: MAX_MESSAGE_CHARS - 1] + "\u2026"


def _load_fact(summary: RunSummary) -> tuple[str, str]:
    plan, open_model = summary.plan, summary.open_model
    if open_model is not None:
        return (
            "Load",
            f"arrivals at {describe(plan.rate_stages)} (the open model; latency counts from each "
            f"arrival's due time): {open_model.started:,} of {open_model.planned:,} started, "
            f"{open_model.dropped:,} dropped, {open_model.late:,} late, at most "
            f"{plan.max_in_flight:,} in flight",
        )
    if plan.profile == "stages":
        return ("Load", f"{plan.users} users, spawn rate {format_number(plan.spawn_rate)}/s")
    return ("Load", f"set by {plan.profile}, followed as written")


def _facts(summary: RunSummary) -> list[tuple[str, str]]:
    plan = summary.plan
    target = summary.target
    stages = ", ".join(f"{format_number(s.duration_s)}s→{s.target}" for s in plan.stages)
    facts = [
        ("Target", f"{target.host} ({'embedded' if target.embedded else 'external'})"),
        ("Database", target.database or "unknown"),
        ("Engine", f"{summary.engine} ({plan.workers} worker{'s' if plan.workers != 1 else ''})"),
        ("Script", plan.script or _NONE),
        _load_fact(summary),
        ("Stages", stages or _NONE),
        ("Tags", ", ".join(plan.tags) or "all"),
        ("Excluded tags", ", ".join(plan.exclude_tags) or "none"),
        ("Monitor interval", f"{format_number(summary.monitor.interval_s)} s"),
    ]
    for source, state in sorted(summary.monitor.sources.items()):
        facts.append((f"Monitor: {source}", state))
    for key, value in sorted(summary.monitor.summary.items()):
        facts.append((key, _NONE if value is None else format_value(value, unit_of(key))))
    if summary.engine_outputs:
        facts.append(("Engine outputs", ", ".join(summary.engine_outputs)))
    return facts
