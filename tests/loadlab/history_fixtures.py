"""Runs of known distributions for the history and comparison tests: synthetic summaries whose
per-second latencies and histograms come from a seeded log-normal, so a test knows the truth
(unchanged, or slower by a known factor) instead of hoping a timed run shows it.

Imported by the tests; not a test module itself.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from loadlab.histograms import RunStats
from loadlab.results import RunSummary, Verdict

FIXTURE = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"
ENDPOINTS = (("GET", "/api/v1/health"), ("GET", "/api/v1/workspaces"))
MEDIAN_MS = 20.0
SIGMA = 0.35


def synthetic_run(
    run_id: str,
    *,
    seed: int,
    factor: float = 1.0,
    seconds: int = 20,
    per_second: int = 20,
    passed: bool = True,
    users: int = 20,
) -> RunSummary:
    """A passing run of `seconds` seconds, `per_second` requests a second per endpoint, whose
    latencies are log-normal (median MEDIAN_MS) times `factor`."""
    rng = np.random.default_rng(seed)
    stats = RunStats(0.0)
    for second in range(seconds):
        stats.set_users(second, users)
        # Each run has its own small level shift, as runs on a shared machine do.
        level = float(rng.normal(1.0, 0.02))
        for method, name in ENDPOINTS:
            for value in rng.lognormal(np.log(MEDIAN_MS * factor * level), SIGMA, per_second):
                stats.add_sample(second, method, name, float(value), failed=False)
    client = stats.finish()
    base = RunSummary.from_dict(json.loads(FIXTURE.read_text()))
    monitor = dataclasses.replace(
        base.monitor,
        summary={**base.monitor.summary, "steady_from_s": 0.0, "steady_to_s": float(seconds)},
    )
    return dataclasses.replace(
        base,
        run_id=run_id,
        plan=dataclasses.replace(base.plan, users=users),
        duration_s=client.duration_s,
        totals=client.totals,
        endpoints=client.endpoints,
        errors=(),
        timeline=client.timeline,
        monitor=monitor,
        thresholds=(),
        verdict=Verdict(
            passed=passed, exit_code=0 if passed else 1, reason="ok" if passed else "x"
        ),
        histograms=stats.encoded_histograms(),
    )
