"""RunStats: exact counts, HdrHistogram percentiles, a timeline, and bounded memory."""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Iterator

import pytest
from hdrh.histogram import HdrHistogram

from loadlab.histograms import (
    MAX_ENDPOINTS,
    MAX_ERROR_GROUPS,
    OPEN_SECONDS,
    OTHER_ENDPOINT,
    OTHER_ERRORS,
    RunStats,
    decode,
    new_histogram,
    to_us,
)

START = 1_700_000_000


def exact_percentile(values: list[float], percentile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered)) - 1)]


def test_percentiles_agree_with_exact_ones_within_one_percent() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3.0, 1.0) for _ in range(20_000)]
    stats = RunStats(START)
    for index, value in enumerate(values):
        stats.add_sample(START + index // 1000, "GET", "/x", value, failed=False)
    totals, *_ = stats.finish()
    for name, percentile in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p999", 99.9)):
        measured = getattr(totals, f"{name}_ms")
        assert measured == pytest.approx(exact_percentile(values, percentile), rel=0.01), name
    assert totals.mean_ms == pytest.approx(sum(values) / len(values))


def test_histograms_and_samples_merge_into_exact_totals() -> None:
    stats = RunStats(START)
    histogram = new_histogram()
    for value_ms in (10.0, 20.0, 30.0):
        histogram.record_value(to_us(value_ms))
    stats.add_histogram(START + 1, "GET", "/a", histogram, requests=3, failures=1, sum_ms=60.0)
    stats.add_sample(START + 2, "POST", "/b", 40.0, failed=False)
    stats.add_error("GET", "/a", "HTTP 500", 1)
    stats.set_users(START, 2)
    totals, endpoints, errors, timeline, duration_s, *_ = stats.finish()
    assert (totals.requests, totals.failures, totals.mean_ms) == (4, 1, 25.0)
    assert stats.load_started_s() == 1.0
    assert duration_s == 2.0
    assert totals.rps == 2.0
    assert [(e.method, e.name, e.requests) for e in endpoints] == [
        ("GET", "/a", 3),
        ("POST", "/b", 1),
    ]
    assert errors[0].occurrences == 1
    assert [(p.t_s, p.users, p.requests) for p in timeline] == [(0, 2, 0), (1, 2, 3), (2, 2, 1)]
    assert timeline[0].p95_ms is None


def test_old_seconds_are_closed_and_late_data_still_counts() -> None:
    stats = RunStats(START)
    stats.add_sample(START, "GET", "/a", 5.0, failed=False)
    stats.add_sample(START + OPEN_SECONDS + 5, "GET", "/a", 5.0, failed=False)
    stats.close_settled()
    assert list(stats._open) == [OPEN_SECONDS + 5]
    stats.add_sample(START, "GET", "/a", 7.0, failed=True)
    totals, _, _, timeline, *_ = stats.finish()
    assert (totals.requests, totals.failures) == (3, 1)
    assert (timeline[0].requests, timeline[0].failures) == (2, 1)


def test_live_view_covers_recent_seconds() -> None:
    stats = RunStats(START)
    for second in range(10):
        for _ in range(4):
            stats.add_sample(START + second, "GET", "/a", 3.0, failed=False)
    live = stats.live(window_s=5)
    assert live.rps == 4.0
    assert live.requests == 40
    assert live.p95_ms == pytest.approx(3.0, rel=0.01)


def test_endpoints_are_capped() -> None:
    stats = RunStats(START)
    for index in range(MAX_ENDPOINTS + 10):
        stats.add_sample(START, "GET", f"/items/{index}", 1.0, failed=False)
    totals, endpoints, *_ = stats.finish()
    assert len(endpoints) == MAX_ENDPOINTS + 1
    other = next(e for e in endpoints if (e.method, e.name) == OTHER_ENDPOINT)
    assert other.requests == 10
    assert totals.requests == MAX_ENDPOINTS + 10


def test_errors_group_without_their_ids_and_stay_bounded() -> None:
    stats = RunStats(START)
    for index in range(3):
        request_id = f"{index:032x}"
        stats.add_error("POST", "/a", f'got 503: {{"request_id":"{request_id}"}}')
    for index in range(MAX_ERROR_GROUPS + 5):
        stats.add_error("GET", f"/b/{index}", "HTTP 500")
    _, _, errors, *_ = stats.finish()
    assert len(errors) == MAX_ERROR_GROUPS + 1
    masked = next(e for e in errors if e.name == "/a")
    assert masked.occurrences == 3
    assert masked.message == 'got 503: {"request_id":"<id>"}'
    other = next(e for e in errors if e.message == OTHER_ERRORS)
    assert other.occurrences == 6


@pytest.fixture
def no_cyclic_collector() -> Iterator[None]:
    """What reference counting frees, without the cyclic collector that runs when it likes."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _live_histograms() -> int:
    return sum(type(item) is HdrHistogram for item in gc.get_objects())  # not the weak proxies


@pytest.mark.usefixtures("no_cyclic_collector")
def test_a_run_of_an_hour_keeps_only_its_open_seconds_histograms() -> None:
    stats = RunStats(START)
    before = _live_histograms()
    for second in range(3600):
        stats.add_sample(START + second, "GET", "/a", 1.0, failed=False)
        stats.close_settled()
    # One per open second and the endpoint's (the old code kept all 3,600).
    assert _live_histograms() - before <= OPEN_SECONDS + 2
    assert stats.finish().totals.requests == 3600


@pytest.mark.usefixtures("no_cyclic_collector")
def test_decoded_histograms_are_freed_when_dropped_and_still_encode() -> None:
    histogram = new_histogram()
    histogram.record_value(1500)
    encoded = histogram.encode()
    before = _live_histograms()
    for _ in range(50):
        copy = decode(encoded)
        assert copy.encode() == encoded
        del copy
    assert _live_histograms() == before


def test_rates_divide_by_the_time_from_the_first_to_the_last_response() -> None:
    """20 requests a second from x.5 of one second to x.5 of the tenth after it: 9 s of load over
    10 whole seconds. The rate divides by the responses' own span, not by the seconds it touched."""
    stats = RunStats(START)
    for tenth in range(5, 95):
        second = START + tenth // 10
        for _ in range(2):
            stats.add_sample(second, "GET", "/a", 1.0, failed=False)
    assert stats.duration_s() == 10.0  # no span given: whole seconds, as before
    stats.note_span(START + 5.0, START + 7.0)
    stats.note_span(START + 0.5, START + 9.5)  # reports merge: the earliest and the latest
    totals, endpoints, _, _, duration_s, *_ = stats.finish()
    assert duration_s == 9.0
    assert totals.rps == endpoints[0].rps == 180 / 9.0


def test_a_span_never_widens_the_seconds_nor_falls_under_one() -> None:
    stats = RunStats(START)
    stats.add_sample(START + 3, "GET", "/a", 1.0, failed=False)
    stats.note_span(START + 3.2, START + 3.3)
    assert stats.duration_s() == 1.0
    stats.note_span(START + 1.0, START + 9.0)  # outside what was counted: bounded by it
    assert stats.duration_s() == 1.0


def test_a_warm_up_starts_the_span_on_its_second() -> None:
    stats = RunStats(START, warmup_s=2)
    for second in range(6):
        stats.add_sample(START + second, "GET", "/a", 1.0, failed=False)
    stats.note_span(START + 0.4, START + 5.25)
    assert stats.duration_s() == pytest.approx(3.25)  # from START + 2 (judged) to the last
