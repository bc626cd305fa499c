"""What a k6 script's own thresholds need from k6's summary, and the units of what they compare."""

from __future__ import annotations

from typing import Any

import pytest

from loadlab.engines.k6_thresholds import summary_trend_stats, unit_of


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"summaryTrendStats": None, "thresholds": None}, "avg,min,med,max,p(90),p(95),count"),
        (
            {
                "thresholds": {
                    "http_req_duration{staticAsset:yes}": ["p(99)<500"],
                    "http_req_duration": [{"threshold": "p(99.9) < 900", "abortOnFail": True}],
                    "checks": ["rate>0.9"],
                    "http_reqs": ["count>0"],
                }
            },
            "avg,min,med,max,p(90),p(95),p(99),p(99.9),count",
        ),
        (
            {
                "summaryTrendStats": ["p(50)", "max"],
                "thresholds": {"iteration_duration": ["max<1"]},
            },
            "p(50),max,count",
        ),
    ],
    ids=["defaults", "thresholds-add-theirs", "scripts-own-stats"],
)
def test_summary_trend_stats_hold_every_compared_value(
    options: dict[str, Any], expected: str
) -> None:
    assert summary_trend_stats(options) == expected


@pytest.mark.parametrize(
    ("metric", "aggregation", "unit"),
    [
        ("http_req_duration", "p(95)", "ms"),
        ("http_req_duration{staticAsset:yes}", "p(99)", "ms"),
        ("iteration_duration", "avg", "ms"),
        ("http_reqs", "rate", "per_s"),
        ("http_reqs", "count", "count"),
        ("data_received", "count", "bytes"),
        ("data_sent", "rate", "bytes_per_s"),
        ("vus", "value", "count"),
        ("checks", "rate", ""),  # a Rate is a 0..1 fraction, as the script's limit is
        ("my_trend", "avg", ""),  # a script's own metric: k6's export does not say its unit
    ],
    ids=lambda value: str(value),
)
def test_unit_of_a_k6_threshold(metric: str, aggregation: str, unit: str) -> None:
    assert unit_of(metric, aggregation) == unit
