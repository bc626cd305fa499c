"""Shrinking long time series for charts without hiding their spikes.

A two-hour run has 7,200 points per series; a chart is a thousand pixels wide. Each bucket of
consecutive points keeps its minimum and its maximum (in time order), so a one-second latency
spike or a dip in throughput still shows, and the report file stays small.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

Series = list[float | None]


def downsample(
    x: Sequence[float], series: Mapping[str, Sequence[float | None]], max_points: int
) -> tuple[list[float], dict[str, Series]]:
    """Return at most `max_points` x values and the series aligned with them.

    Each series keeps its own minimum and maximum of every bucket; `None` (no data) is kept
    only where a whole bucket has no data, so gaps stay gaps.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    if len(x) <= max_points:
        return list(x), {name: list(values) for name, values in series.items()}
    buckets = max_points // 2
    bounds = [round(i * len(x) / buckets) for i in range(buckets + 1)]
    out_x: list[float] = []
    out: dict[str, Series] = {name: [] for name in series}
    for start, end in itertools.pairwise(bounds):
        if end <= start:
            continue
        pair = end - start > 1
        out_x.append(x[start])
        if pair:
            out_x.append(x[end - 1])
        for name, values in series.items():
            out[name].extend(_min_max(values, start, end, pair))
    return out_x, out


def _min_max(values: Sequence[float | None], start: int, end: int, pair: bool) -> Series:
    lowest: tuple[int, float] | None = None
    highest: tuple[int, float] | None = None
    for index in range(start, end):
        value = values[index]
        if value is None:
            continue
        if lowest is None or value < lowest[1]:
            lowest = (index, value)
        if highest is None or value > highest[1]:
            highest = (index, value)
    if lowest is None or highest is None:
        return [None, None] if pair else [None]
    if not pair:
        return [lowest[1]]
    first, second = sorted((lowest, highest))
    return [first[1], second[1]]
