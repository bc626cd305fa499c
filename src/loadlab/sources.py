"""Which measurement sources a run will have, known before it starts.

A threshold on the target's CPU needs the target's process (a local pid, or the `process_*`
series of its `/metrics`); a server-side latency needs its `/metrics`; a PostgreSQL statistic
needs `--db-url`. A preset's default threshold whose source this run will not have is
`not_measured` (announced before the run, never a pass, never failing it); one the user asked for
stays and ends `no_data` (a failure). The probe is one GET of `/metrics`, before any load.
"""

from __future__ import annotations

import httpx

from loadlab.metrics import THRESHOLD_METRICS
from loadlab.monitor.app import REQUESTS
from loadlab.monitor.prometheus import parse_metrics
from loadlab.thresholds import Threshold

PROBE_TIMEOUT_S = 3.0


def missing_sources(
    base_url: str,
    *,
    embedded: bool,
    target_pid: int | None,
    db_url: str | None,
    metrics_path: str = "/metrics",
) -> dict[str, str]:
    """Source name -> why this run will not have it (only the missing ones)."""
    missing: dict[str, str] = {}
    if db_url is None:
        missing["postgres"] = "no --db-url"
    if embedded:
        return missing
    url = base_url.rstrip("/") + metrics_path
    names = _probe(url)
    if names is None or REQUESTS not in names:
        why = f"no platform series at {url}"
        missing["app"] = why
        missing["database"] = why
    if target_pid is None and (names is None or "process_cpu_seconds_total" not in names):
        missing["target"] = f"no --target-pid and no process_* series at {url}"
    return missing


def _probe(url: str) -> frozenset[str] | None:
    try:
        response = httpx.get(url, timeout=PROBE_TIMEOUT_S, headers={"Accept": "text/plain"})
        if response.status_code != 200:
            return None
        return frozenset(parse_metrics(response.text).samples)
    except (httpx.HTTPError, ValueError):
        return None


def not_measured(thresholds: tuple[Threshold, ...], missing: dict[str, str]) -> dict[str, str]:
    """Expression -> reason, for each preset default whose source is missing."""
    found = {}
    for threshold in thresholds:
        source = THRESHOLD_METRICS[threshold.metric].source
        if not threshold.explicit and source in missing:
            found[threshold.expression] = missing[source]
    return found
