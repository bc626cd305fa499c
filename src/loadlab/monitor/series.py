"""The monitor's view of the metric catalogue (`loadlab.metrics`): its series and aggregates.

The catalogue owns names, units and sources; this module only names the subsets the monitor
produces, for the aggregates, the threshold parser's usage error and docs/monitoring.md.
"""

from __future__ import annotations

from loadlab.metrics import AGGREGATES, SERIES, Metric, unit_of

Series = Metric
SERIES_BY_NAME: dict[str, Metric] = {s.name: s for s in SERIES}
# name -> (unit of the Measured, how it is computed)
SPECIAL_AGGREGATES: dict[str, tuple[str, str]] = {m.name: (m.unit, m.meaning) for m in AGGREGATES}


def aggregate_names() -> tuple[str, ...]:
    """Every threshold metric name the monitor can answer, sorted (for a usage error's list)."""
    names = set(SPECIAL_AGGREGATES)
    for series in SERIES:
        names.add(series.name)
        names.add(f"{series.name}_max")
    return tuple(sorted(names))


__all__ = ["SERIES", "SERIES_BY_NAME", "SPECIAL_AGGREGATES", "Series", "aggregate_names", "unit_of"]
