"""Units: parsing the user's durations, sizes and rates, and the measured values they are compared with.

Canonical units everywhere inside loadlab: milliseconds for latency, seconds for durations, bytes for
sizes, percent (0..100) for CPU and ratios shown as percentages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    """A value measured for a threshold, in a canonical unit; `value` None means no data."""

    value: float | None
    unit: str
    detail: str | None = None
