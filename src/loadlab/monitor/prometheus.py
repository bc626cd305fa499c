"""One scrape of a target's `/metrics`, and the histogram arithmetic the samplers share.

The text is parsed by the Prometheus client's own parser (never by hand), then flattened into
a name -> samples table so every sampler can sum a series over the labels it cares about without
walking the families again. Latency percentiles are estimated the way Prometheus'
`histogram_quantile` does: from the difference of cumulative bucket counts between two scrapes,
interpolating linearly inside the bucket that holds the rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = Mapping[str, str]
LabelFilter = Callable[[Labels], bool]
# Cumulative bucket counts as (upper bound in seconds, count), sorted by bound; the last is +Inf.
Buckets = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Scrape:
    """The samples of one `/metrics` answer, indexed by sample name (`x_total`, `x_bucket`, ...)."""

    samples: Mapping[str, Sequence[tuple[Labels, float]]]

    def has(self, name: str) -> bool:
        return name in self.samples

    def total(self, name: str, where: LabelFilter | None = None) -> float | None:
        """The sum of a series over the labels that pass `where`; None when the series is absent."""
        rows = self.samples.get(name)
        if rows is None:
            return None
        return math.fsum(v for labels, v in rows if where is None or where(labels))

    def buckets(self, name: str, where: LabelFilter | None = None) -> Buckets | None:
        """The cumulative buckets of histogram `name`, summed over the labels that pass `where`."""
        rows = self.samples.get(f"{name}_bucket")
        if rows is None:
            return None
        by_bound: dict[float, float] = {}
        for labels, value in rows:
            if where is not None and not where(labels):
                continue
            bound = float(labels.get("le", "+Inf"))
            by_bound[bound] = by_bound.get(bound, 0.0) + value
        return tuple(sorted(by_bound.items()))

    def groups(self, name: str, keys: Sequence[str]) -> dict[tuple[str, ...], list[Labels]]:
        """The distinct values of `keys` among the samples of `name` (e.g. one entry per route)."""
        found: dict[tuple[str, ...], list[Labels]] = {}
        for labels, _ in self.samples.get(name, ()):
            found.setdefault(tuple(labels.get(k, "") for k in keys), []).append(labels)
        return found


def parse_metrics(text: str) -> Scrape:
    """Parse Prometheus text exposition; raises ValueError on text that is not that format."""
    table: dict[str, list[tuple[Labels, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            table.setdefault(sample.name, []).append((sample.labels, float(sample.value)))
    return Scrape(table)


def bucket_delta(now: Buckets, before: Buckets | None) -> Buckets:
    """The buckets filled between two scrapes; after a counter reset, the new counts alone."""
    if before is None:
        return now
    previous = dict(before)
    delta = tuple((bound, count - previous.get(bound, 0.0)) for bound, count in now)
    if any(count < 0 for _, count in delta):
        return now
    return delta


def bucket_quantile(q: float, buckets: Buckets) -> float | None:
    """The q-quantile (0..1) of cumulative buckets, in the buckets' unit; None when they are empty.

    As Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank, the
    lower edge of the first bucket is 0, and a rank in the +Inf bucket answers the highest finite
    bound (the histogram cannot say more).
    """
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank and count > lower_count:
            if math.isinf(bound):
                return lower_bound
            fraction = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * fraction
        lower_bound, lower_count = bound, count
    return lower_bound
