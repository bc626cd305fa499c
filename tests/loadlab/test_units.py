"""Parsing the user's durations, sizes, rates and percentages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from loadlab.units import (
    format_duration,
    parse_duration,
    parse_growth_bytes_per_10m,
    parse_latency_ms,
    parse_percent,
    parse_rate_per_s,
    parse_size,
)


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        pytest.param(parse_duration, "90", 90.0, id="bare-seconds"),
        pytest.param(parse_duration, "30s", 30.0, id="seconds"),
        pytest.param(parse_duration, "2m", 120.0, id="minutes"),
        pytest.param(parse_duration, "1h30m", 5400.0, id="hours-minutes"),
        pytest.param(parse_duration, "1.5s", 1.5, id="fraction"),
        pytest.param(parse_duration, "250ms", 0.25, id="milliseconds"),
        pytest.param(parse_duration, " 2h ", 7200.0, id="spaces"),
        pytest.param(parse_latency_ms, "500ms", 500.0, id="latency-ms"),
        pytest.param(parse_latency_ms, "1s", 1000.0, id="latency-s"),
        pytest.param(parse_size, "100MB", 100e6, id="megabytes-decimal"),
        pytest.param(parse_size, "100MiB", 100 * 2**20, id="mebibytes"),
        pytest.param(parse_size, "1.5GB", 1.5e9, id="gigabytes"),
        pytest.param(parse_size, "512B", 512.0, id="bytes"),
        pytest.param(parse_rate_per_s, "100/s", 100.0, id="per-second"),
        pytest.param(parse_rate_per_s, "6000/m", 100.0, id="per-minute"),
        pytest.param(parse_percent, "0.1%", 0.1, id="small-percent"),
        pytest.param(parse_percent, "80%", 80.0, id="percent"),
        pytest.param(parse_growth_bytes_per_10m, "100MB/10m", 100e6, id="growth-10m"),
        pytest.param(parse_growth_bytes_per_10m, "60MB/1h", 10e6, id="growth-per-hour"),
    ],
)
def test_parses(parse: Callable[[str], float], text: str, expected: float) -> None:
    assert parse(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        pytest.param(parse_duration, "", id="empty-duration"),
        pytest.param(parse_duration, "2x", id="unknown-unit"),
        pytest.param(parse_duration, "m2", id="unit-first"),
        pytest.param(parse_duration, "1h 30", id="trailing-number"),
        pytest.param(parse_latency_ms, "500", id="latency-without-unit"),
        pytest.param(parse_size, "100", id="size-without-unit"),
        pytest.param(parse_size, "100XB", id="size-unknown-unit"),
        pytest.param(parse_rate_per_s, "100", id="rate-without-period"),
        pytest.param(parse_percent, "0.1", id="percent-without-sign"),
        pytest.param(parse_growth_bytes_per_10m, "100MB", id="growth-without-period"),
        pytest.param(parse_growth_bytes_per_10m, "100MB/0s", id="growth-zero-period"),
    ],
)
def test_refuses(parse: Callable[[str], float], text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(120, "2m"), (5400, "1h30m"), (45, "45s"), (1.5, "1.5s"), (0, "0s"), (7200, "2h")],
    ids=["minutes", "hours-minutes", "seconds", "fraction", "zero", "hours"],
)
def test_format_duration_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
