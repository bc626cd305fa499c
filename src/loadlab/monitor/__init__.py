"""Watching the target while load runs: application, system and database series on one timeline.

Load generators measure the client's view; this package measures the server's, in the same run and
on the same clock, so thresholds can judge CPU, memory growth, pool waits or cache hits next to
latency. See docs/monitoring.md for every series and aggregate.
"""

from loadlab.monitor.app import RouteStats
from loadlab.monitor.config import MonitorConfig
from loadlab.monitor.result import SAMPLES_CSV, MonitorResult, write_samples_csv
from loadlab.monitor.sampling import Monitor
from loadlab.monitor.series import SERIES, aggregate_names

__all__ = [
    "SAMPLES_CSV",
    "SERIES",
    "Monitor",
    "MonitorConfig",
    "MonitorResult",
    "RouteStats",
    "aggregate_names",
    "write_samples_csv",
]
