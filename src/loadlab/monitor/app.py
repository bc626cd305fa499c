"""Application series: what the target itself says about the requests it served.

One GET of `/metrics` per interval, on a kept-alive connection, feeds this sampler, the database
sampler and (for a remote target) the system sampler. Rates and percentiles come from differences
between two scrapes, so they describe the interval just ended, on the same clock as the client-side
timeline. The monitor's own scrapes of `/metrics` are left out of every server series.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from loadlab.monitor.health import SourceHealth
from loadlab.monitor.prometheus import (
    Buckets,
    Labels,
    Scrape,
    bucket_delta,
    bucket_quantile,
    parse_metrics,
)

Sample = dict[str, float | None]

REQUESTS = "platform_http_requests_total"
DURATION = "platform_http_request_duration_seconds"
IN_FLIGHT = "platform_http_requests_in_flight"


@dataclass(frozen=True)
class RouteStats:
    """Server-side counts and latency of one route over the whole monitored run."""

    method: str
    route: str
    requests: int
    errors: int
    rps: float
    error_rate_percent: float  # 0..100, answers with status >= 500
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class MetricsReader:
    """Fetches and parses `/metrics`; a failure is a warning for the "app" source, never a raise."""

    def __init__(self, base_url: str, path: str, timeout_s: float) -> None:
        self.url = base_url.rstrip("/") + path
        self.health = SourceHealth("app")
        self._client = httpx.Client(timeout=timeout_s, headers={"Accept": "text/plain"})

    def read(self) -> Scrape | None:
        try:
            response = self._client.get(self.url)
        except httpx.HTTPError as exc:
            self.health.fail(f"no /metrics at {self.url}: {exc or type(exc).__name__}")
            return None
        if response.status_code != 200:
            self.health.fail(f"no /metrics at {self.url}: HTTP {response.status_code}")
            return None
        try:
            return parse_metrics(response.text)
        except ValueError as exc:
            self.health.fail(f"{self.url} is not Prometheus text: {exc}")
            return None

    def close(self) -> None:
        self._client.close()


class AppSampler:
    """Server request rate, error rate, latency percentiles and requests in flight."""

    def __init__(self, health: SourceHealth, metrics_path: str) -> None:
        self.health = health
        self._metrics_path = metrics_path
        self._prev: tuple[float, float, float, Buckets | None] | None = None
        self._first: tuple[float, Scrape] | None = None
        self._last: tuple[float, Scrape] | None = None

    def _served(self, labels: Labels) -> bool:
        return labels.get("route") != self._metrics_path

    def _failed(self, labels: Labels) -> bool:
        return self._served(labels) and labels.get("status", "").startswith("5")

    def counters(self, scrape: Scrape | None) -> tuple[dict[str, float], dict[str, Buckets]]:
        """The cumulative values the steady-window aggregates subtract."""
        if scrape is None or not scrape.has(REQUESTS):
            return {}, {}
        counters = {
            "server_requests": scrape.total(REQUESTS, self._served) or 0.0,
            "server_errors": scrape.total(REQUESTS, self._failed) or 0.0,
        }
        buckets = scrape.buckets(DURATION, self._served)
        return counters, ({"server_duration": buckets} if buckets is not None else {})

    def sample(self, now: float, scrape: Scrape | None) -> Sample:
        row: Sample = dict.fromkeys(_KEYS)
        if scrape is None:
            return row
        if not scrape.has(REQUESTS):
            self.health.fail(
                f"no {REQUESTS} series in /metrics: the target is not the platform, so "
                "server-side rate, errors and latency are not measured"
            )
            return row
        self._first = self._first or (now, scrape)
        self._last = (now, scrape)
        counters, buckets = self.counters(scrape)
        current = (now, counters["server_requests"], counters["server_errors"])
        duration = buckets.get("server_duration")
        row["server_in_flight"] = _in_flight(scrape)
        if self._prev is not None:
            then, requests, errors, before = self._prev
            dt_s = now - then
            served = current[1] - requests
            if dt_s > 0 and served >= 0:
                row["server_rps"] = served / dt_s
                row["server_error_rate"] = 100 * (current[2] - errors) / served if served else None
            if duration is not None:
                window = bucket_delta(duration, before)
                for key, q in (
                    ("server_p50_ms", 0.5),
                    ("server_p95_ms", 0.95),
                    ("server_p99_ms", 0.99),
                ):
                    row[key] = _ms(bucket_quantile(q, window))
        self._prev = (*current, duration)
        self.health.ok()
        return row

    def routes(self) -> tuple[RouteStats, ...]:
        """Per (method, route) statistics between the first and the last scrape."""
        if self._first is None or self._last is None:
            return ()
        (start, first), (end, last) = self._first, self._last
        found = []
        for method, route in sorted(last.groups(REQUESTS, ("method", "route"))):
            if route != self._metrics_path:
                stats = _route_stats(first, last, method, route, end - start)
                if stats is not None:
                    found.append(stats)
        return tuple(found)


def _route_stats(
    first: Scrape, last: Scrape, method: str, route: str, elapsed_s: float
) -> RouteStats | None:
    def mine(labels: Labels) -> bool:
        return labels.get("method") == method and labels.get("route") == route

    def mine_failed(labels: Labels) -> bool:
        return mine(labels) and labels.get("status", "").startswith("5")

    requests = (last.total(REQUESTS, mine) or 0.0) - (first.total(REQUESTS, mine) or 0.0)
    if requests <= 0:
        return None
    errors = (last.total(REQUESTS, mine_failed) or 0.0) - (
        first.total(REQUESTS, mine_failed) or 0.0
    )
    window = bucket_delta(last.buckets(DURATION, mine) or (), first.buckets(DURATION, mine))
    return RouteStats(
        method=method,
        route=route,
        requests=int(requests),
        errors=int(errors),
        rps=requests / elapsed_s if elapsed_s > 0 else 0.0,
        error_rate_percent=100 * errors / requests,
        p50_ms=_ms(bucket_quantile(0.5, window)),
        p95_ms=_ms(bucket_quantile(0.95, window)),
        p99_ms=_ms(bucket_quantile(0.99, window)),
    )


_KEYS = (
    "server_rps",
    "server_error_rate",
    "server_p50_ms",
    "server_p95_ms",
    "server_p99_ms",
    "server_in_flight",
)


def _in_flight(scrape: Scrape) -> float | None:
    value = scrape.total(IN_FLIGHT)
    # The platform counts every request, so the scrape reading the gauge is one of them.
    return None if value is None else max(0.0, value - 1)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0
