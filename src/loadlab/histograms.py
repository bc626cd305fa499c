"""HdrHistograms of response times, shared by both engines: a percentile means the same on each.

Values are recorded in microseconds (1 µs .. 1 h, 3 significant digits). `RunStats` accumulates a
run with bounded memory: per-endpoint and total histograms for the whole run, and one histogram per
second only while that second can still receive data; older seconds are reduced to a timeline row.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hdrh.histogram import HdrHistogram

from loadlab.results import EndpointStats, ErrorGroup, LatencyStats, TimelinePoint

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
# Locust workers report every 3 s; a second stays open this long after the newest data seen.
OPEN_SECONDS = 12
# A suite that names requests by raw URL (ids and all) would otherwise add a histogram per URL.
MAX_ENDPOINTS = 500
OTHER_ENDPOINT = ("*", "(other endpoints)")
# Error messages often quote a request id: without it, equal errors group together.
_VOLATILE = re.compile(
    r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b|\b[0-9a-f]{16,}\b", re.I
)
MAX_ERROR_GROUPS = 200
OTHER_ERRORS = "(other errors)"
MAX_MESSAGE_CHARS = 500


def new_histogram() -> HdrHistogram:
    return _acyclic(HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS))


def to_us(value_ms: float) -> int:
    return min(HIGHEST_US, max(LOWEST_US, round(value_ms * 1000.0)))


def decode(encoded: str | bytes) -> HdrHistogram:
    return _acyclic(HdrHistogram.decode(encoded))


def _acyclic(histogram: HdrHistogram) -> HdrHistogram:
    """hdrh's histogram and its encoder refer to each other, so a dropped histogram (190 KB of
    counts) waits for Python's cyclic collector, which counts objects, not bytes: a run that
    closes a histogram a second grew by 100 MB in minutes. A weak back-reference lets reference
    counting free it at once."""
    histogram.encoder.histogram = weakref.proxy(histogram)
    return histogram


def percentile_ms(histogram: HdrHistogram, percentile: float) -> float | None:
    """The nearest-rank percentile (the value of the ceil(p * n)-th sample), in milliseconds.

    HdrHistogram's own `get_value_at_percentile` rounds the rank and returns the top of the
    bucket; the nearest rank and the bucket's middle keep us within half a bucket (0.05 % with 3
    significant digits) of the exact sample as recorded, i.e. rounded to the microsecond.
    """
    total = histogram.get_total_count()
    if total == 0:
        return None
    rank = max(1, math.ceil(percentile / 100.0 * total - 1e-9))
    running = 0
    for index in range(histogram.counts_len):
        running += histogram.get_count_at_index(index)
        if running >= rank:
            value = histogram.get_value_from_index(index)
            low = histogram.get_lowest_equivalent_value(value)
            high = histogram.get_highest_equivalent_value(value)
            return float(low + high) / 2.0 / 1000.0
    return None


@dataclass
class _Cell:
    """Counts and latencies of one endpoint (or of everything) over some period."""

    histogram: HdrHistogram = field(default_factory=new_histogram)
    requests: int = 0
    failures: int = 0
    sum_ms: float = 0.0

    def add(self, histogram: HdrHistogram, requests: int, failures: int, sum_ms: float) -> None:
        self.histogram.add(histogram)
        self.requests += requests
        self.failures += failures
        self.sum_ms += sum_ms

    def record(self, value_ms: float, failed: bool) -> None:
        self.histogram.record_value(to_us(value_ms))
        self.requests += 1
        self.failures += int(failed)
        self.sum_ms += value_ms

    def stats(self, duration_s: float) -> LatencyStats:
        return LatencyStats(**self._fields(duration_s))

    def endpoint_stats(self, method: str, name: str, duration_s: float) -> EndpointStats:
        return EndpointStats(method=method, name=name, **self._fields(duration_s))

    def _fields(self, duration_s: float) -> dict[str, Any]:
        h = self.histogram
        empty = self.requests == 0
        return {
            "requests": self.requests,
            "failures": self.failures,
            "error_rate": 100 * self.failures / self.requests if self.requests else 0.0,
            "rps": self.requests / duration_s if duration_s > 0 else 0.0,
            "mean_ms": None if empty else self.sum_ms / self.requests,
            "min_ms": None if empty else h.get_min_value() / 1000.0,
            "max_ms": None if empty else h.get_max_value() / 1000.0,
            "p50_ms": percentile_ms(h, 50),
            "p90_ms": percentile_ms(h, 90),
            "p95_ms": percentile_ms(h, 95),
            "p99_ms": percentile_ms(h, 99),
            "p999_ms": percentile_ms(h, 99.9),
        }


class ClientResult(NamedTuple):
    """What the client side measured over the whole run (`RunStats.finish`)."""

    totals: LatencyStats
    endpoints: tuple[EndpointStats, ...]
    errors: tuple[ErrorGroup, ...]
    timeline: tuple[TimelinePoint, ...]
    duration_s: float  # from the first to the last second with a response
    # Open model: latency from the moment each request was sent, and the arrivals counted (None
    # when the engine reported none; the run's plan says whether it was an open-model run).
    service: LatencyStats | None = None
    service_endpoints: tuple[EndpointStats, ...] = ()
    arrivals: Arrivals | None = None


@dataclass
class Arrivals:
    """An open-model run's arrivals as the engine counted them."""

    started: int = 0
    dropped: int = 0
    late: int = 0


@dataclass(frozen=True)
class LiveView:
    """What the progress line shows; numbers over the last few complete seconds."""

    newest_second: int | None
    users: int
    rps: float
    p95_ms: float | None
    requests: int
    failures: int


class RunStats:
    """Everything measured on the client side of one run, fed by an engine's stream."""

    def __init__(self, start_epoch_s: float, *, warmup_s: float = 0.0) -> None:
        self._start = int(start_epoch_s)
        # Seconds after the first response that count in the timeline only (a capacity step's
        # warm-up): the totals, endpoints and thresholds judge what follows.
        self._warmup_s = round(warmup_s)
        self._total = _Cell()
        self._endpoints: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
        self._open: dict[int, _Cell] = {}
        self._rows: dict[int, TimelinePoint] = {}
        self._users: dict[int, int] = {}
        self._errors: dict[tuple[str, str, str], int] = defaultdict(int)
        self._newest: int | None = None
        self._first_load: int | None = None
        self._last_load: int | None = None
        # The first and last response's own times (epoch seconds), when the engine gives them:
        # whole seconds would count a run's partly loaded first and last seconds as full ones
        # (up to 2 s too many: 5 % of a 20 s run's rate).
        self._span: tuple[float, float] | None = None
        self.generator_cpu_percent_max: float | None = None
        # Open model only: the same requests timed from the moment they were sent.
        self._service_total = _Cell()
        self._service_endpoints: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
        self._arrivals: Arrivals | None = None

    def add_histogram(
        self,
        epoch_second: int,
        method: str,
        name: str,
        histogram: HdrHistogram,
        *,
        requests: int,
        failures: int,
        sum_ms: float,
        service: tuple[HdrHistogram, float] | None = None,
    ) -> None:
        """Merge a histogram of one endpoint in one second (the Locust plugin's unit of report).

        In an open-model run `histogram` counts from the moment each request was due and
        `service` (histogram, sum) from the moment it was sent."""
        second = self._second(epoch_second)
        if self._counted(second):
            self._total.add(histogram, requests, failures, sum_ms)
            self._endpoint(method, name).add(histogram, requests, failures, sum_ms)
            if service is not None:
                self._service_total.add(service[0], requests, failures, service[1])
                self._service_cell(method, name).add(service[0], requests, failures, service[1])
        if second in self._rows:
            self._late(second, requests, failures)
        else:
            self._open_cell(second).add(histogram, requests, failures, sum_ms)

    def _counted(self, second: int) -> bool:
        return not self._warmup_s or second >= (self._first_load or 0) + self._warmup_s

    def add_sample(
        self,
        epoch_second: int,
        method: str,
        name: str,
        value_ms: float,
        *,
        failed: bool,
        service_ms: float | None = None,
    ) -> None:
        """Record one response (k6's stream gives them one at a time); `service_ms` as above."""
        second = self._second(epoch_second)
        if self._counted(second):
            self._total.record(value_ms, failed)
            self._endpoint(method, name).record(value_ms, failed)
            if service_ms is not None:
                self._service_total.record(service_ms, failed)
                self._service_cell(method, name).record(service_ms, failed)
        if second in self._rows:
            self._late(second, 1, int(failed))
        else:
            self._open_cell(second).record(value_ms, failed)

    def _open_cell(self, second: int) -> _Cell:
        # Not `setdefault(second, _Cell())`: that builds (and drops) an HdrHistogram per sample,
        # which was a third of loadlab's CPU when it read k6's stream.
        cell = self._open.get(second)
        if cell is None:
            cell = self._open[second] = _Cell()
        return cell

    def add_error(self, method: str, name: str, message: str, occurrences: int = 1) -> None:
        """Group equal errors; ids are masked, and past MAX_ERROR_GROUPS the rest is lumped."""
        key = (method, name, _VOLATILE.sub("<id>", message)[:MAX_MESSAGE_CHARS])
        if key not in self._errors and len(self._errors) >= MAX_ERROR_GROUPS:
            key = ("*", "*", OTHER_ERRORS)
        self._errors[key] += occurrences

    def add_arrivals(self, *, started: int = 0, dropped: int = 0, late: int = 0) -> None:
        """Open model: arrivals that began an iteration, were dropped, or began late."""
        if self._arrivals is None:
            self._arrivals = Arrivals()
        self._arrivals.started += started
        self._arrivals.dropped += dropped
        self._arrivals.late += late

    def note_span(self, first_epoch_s: float, last_epoch_s: float) -> None:
        """The times of the first and last responses of some of the run's reports."""
        if self._span is not None:
            first_epoch_s = min(first_epoch_s, self._span[0])
            last_epoch_s = max(last_epoch_s, self._span[1])
        self._span = (first_epoch_s, last_epoch_s)

    def set_users(self, epoch_second: int, users: int) -> None:
        self._users[self._second(epoch_second, load=False)] = users

    def note_generator_cpu(self, percent: float) -> None:
        current = self.generator_cpu_percent_max
        self.generator_cpu_percent_max = percent if current is None else max(current, percent)

    def close_settled(self) -> None:
        """Reduce seconds no report can still reach to timeline rows, freeing their histograms."""
        if self._newest is None:
            return
        for second in [s for s in self._open if s < self._newest - OPEN_SECONDS]:
            self._close(second)

    def live(self, window_s: int = 5) -> LiveView:
        newest = self._newest
        if newest is None:
            return LiveView(None, self._users_at(max(self._users, default=0)), 0.0, None, 0, 0)
        seconds = range(newest - window_s, newest)
        requests = sum(self._requests_in(s) for s in seconds)
        return LiveView(
            newest_second=newest,
            users=self._users_at(max(self._users, default=newest)),
            rps=requests / window_s,
            p95_ms=percentile_ms(self._total.histogram, 95),
            requests=self._total.requests,
            failures=self._total.failures,
        )

    def finish(self) -> ClientResult:
        """Totals, endpoints, errors, timeline and the measured duration of load in seconds."""
        for second in list(self._open):
            self._close(second)
        duration_s = self.duration_s()
        totals = self._total.stats(duration_s)
        endpoints = tuple(
            cell.endpoint_stats(method, name, duration_s)
            for (method, name), cell in sorted(
                self._endpoints.items(), key=lambda item: item[0][::-1]
            )
        )
        errors = tuple(
            ErrorGroup(method=m, name=n, message=msg, occurrences=count)
            for (m, n, msg), count in sorted(self._errors.items(), key=lambda item: -item[1])
        )
        service = self._service_total
        return ClientResult(
            totals,
            endpoints,
            errors,
            self._timeline(),
            duration_s,
            service=service.stats(duration_s) if service.requests else None,
            service_endpoints=tuple(
                cell.endpoint_stats(method, name, duration_s)
                for (method, name), cell in sorted(
                    self._service_endpoints.items(), key=lambda item: item[0][::-1]
                )
            ),
            arrivals=self._arrivals,
        )

    def encoded_histograms(self) -> dict[str, str]:
        """Each endpoint's histogram ("METHOD name") and all requests' ("*"), encoded, for the
        history: percentiles of any set of runs merged stay exact (docs/baselines.md)."""
        encoded = {
            f"{m} {n}": cell.histogram.encode().decode() for (m, n), cell in self._endpoints.items()
        }
        encoded["*"] = self._total.histogram.encode().decode()
        return encoded

    def load_started_s(self) -> float:
        """Seconds from the start of the clock to the first response (the engine's start-up)."""
        return float(self._first_load or 0)

    def load_ended_s(self) -> float:
        """Seconds from the start of the clock to the end of the last second with a response."""
        return float(self._last_load + 1) if self._last_load is not None else 0.0

    def duration_s(self) -> float:
        """From the first to the last response (after the warm-up, if any), the divisor of every
        rate: from their own times when the engine gave them (`note_span`), at least 1 s; else
        from the first to the end of the last second with a response."""
        if self._first_load is None or self._last_load is None:
            return 0.0
        whole = float(max(0, self._last_load - self._first_load - self._warmup_s) + 1)
        if self._span is None:
            return whole
        first, last = self._span
        if self._warmup_s:  # what is judged starts on a second's boundary
            first = float(self._start + self._first_load + self._warmup_s)
        return min(whole, max(1.0, last - first))

    def _endpoint(self, method: str, name: str) -> _Cell:
        key = (method, name)
        if key not in self._endpoints and len(self._endpoints) >= MAX_ENDPOINTS:
            key = OTHER_ENDPOINT
        return self._endpoints[key]

    def _service_cell(self, method: str, name: str) -> _Cell:
        key = (method, name)
        if key not in self._service_endpoints and len(self._service_endpoints) >= MAX_ENDPOINTS:
            key = OTHER_ENDPOINT
        return self._service_endpoints[key]

    def _second(self, epoch_second: int, *, load: bool = True) -> int:
        second = max(0, int(epoch_second) - self._start)
        self._newest = second if self._newest is None else max(self._newest, second)
        if load:
            first, last = self._first_load, self._last_load
            self._first_load = second if first is None else min(first, second)
            self._last_load = second if last is None else max(last, second)
        return second

    def _requests_in(self, second: int) -> int:
        if second in self._open:
            return self._open[second].requests
        row = self._rows.get(second)
        return row.requests if row else 0

    def _late(self, second: int, requests: int, failures: int) -> None:
        row = self._rows[second]
        self._rows[second] = TimelinePoint(
            t_s=second,
            users=row.users,
            requests=row.requests + requests,
            failures=row.failures + failures,
            rps=float(row.requests + requests),
            p50_ms=row.p50_ms,
            p95_ms=row.p95_ms,
            p99_ms=row.p99_ms,
        )

    def _close(self, second: int) -> None:
        cell = self._open.pop(second)
        self._rows[second] = TimelinePoint(
            t_s=second,
            users=self._users_at(second),
            requests=cell.requests,
            failures=cell.failures,
            rps=float(cell.requests),
            p50_ms=percentile_ms(cell.histogram, 50),
            p95_ms=percentile_ms(cell.histogram, 95),
            p99_ms=percentile_ms(cell.histogram, 99),
        )

    def _users_at(self, second: int) -> int:
        # Users are reported every second, so the scan back is short.
        for earlier in range(second, -1, -1):
            if earlier in self._users:
                return self._users[earlier]
        return 0

    def _timeline(self) -> tuple[TimelinePoint, ...]:
        last = max([*self._rows, *self._users], default=-1)
        rows = []
        for second in range(last + 1):
            row = self._rows.get(second)
            if row is None:
                row = TimelinePoint(second, self._users_at(second), 0, 0, 0.0, None, None, None)
            rows.append(row)
        return tuple(rows)
