"""Which charts the HTML report draws, and the data it hands to the browser.

The chart list is data: each chart names the joined-timeline columns it plots. A chart whose
columns are all absent is still listed, titled "no data", so a reader sees that the monitor
could not measure it rather than wondering where it went. Optional charts (network, disk, ...)
appear only when measured, and a monitor series that no chart names gets a chart of its own, so
nothing measured is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadlab.metrics import chart_unit
from loadlab.reports.downsample import downsample
from loadlab.reports.timeline_table import JoinedTimeline

# Enough for a sharp line on a wide screen; the min/max buckets keep every spike.
MAX_CHART_POINTS = 2_000


@dataclass(frozen=True)
class SeriesSpec:
    column: str
    label: str

    @property
    def scale(self) -> float:
        """From the metric catalogue: one unit and scale per name, in every chart."""
        return chart_unit(self.column)[1]


@dataclass(frozen=True)
class ChartSpec:
    chart_id: str
    title: str
    unit: str
    series: tuple[SeriesSpec, ...]


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("users", "Users", "users", (SeriesSpec("users", "users"),)),
    ChartSpec(
        "rps",
        "Requests/s",
        "req/s",
        (SeriesSpec("rps", "client req/s"), SeriesSpec("server_rps", "server req/s")),
    ),
    ChartSpec(
        "failures",
        "Failures/s",
        "failures/s",
        (SeriesSpec("failures_per_s", "failures/s"),),
    ),
    ChartSpec(
        "latency",
        "Latency",
        "ms",
        (
            SeriesSpec("p50_ms", "p50"),
            SeriesSpec("p95_ms", "p95"),
            SeriesSpec("p99_ms", "p99"),
            SeriesSpec("server_p95_ms", "server p95"),
        ),
    ),
    ChartSpec(
        "cpu",
        "CPU",
        "% of a core",
        (
            SeriesSpec("target_cpu_percent", "target"),
            SeriesSpec("generator_cpu_percent", "load generator"),
            SeriesSpec("generator_max_process_cpu_percent", "busiest generator process"),
            SeriesSpec("host_cpu_percent", "host"),
        ),
    ),
    ChartSpec("memory", "Target memory", "MB", (SeriesSpec("target_rss_bytes", "RSS"),)),
    ChartSpec(
        "db_pool",
        "Database pool",
        "connections",
        (
            SeriesSpec("db_pool_checked_out", "checked out"),
            SeriesSpec("db_pool_size", "size"),
            SeriesSpec("db_pool_overflow", "overflow"),
            SeriesSpec("db_pool_waiters", "waiting"),
            SeriesSpec("pg_active_connections", "PostgreSQL active"),
        ),
    ),
    ChartSpec(
        "locks",
        "Database locks",
        "waits",
        (
            SeriesSpec("db_lock_waits", "lock waits"),
            SeriesSpec("db_busy_waits_per_s", "busy waits/s"),
            SeriesSpec("db_deadlocks", "deadlocks"),
            SeriesSpec("pg_waiting_locks", "PostgreSQL waiting locks"),
            SeriesSpec("pg_deadlocks", "PostgreSQL deadlocks"),
        ),
    ),
    ChartSpec(
        "cache",
        "Cache hit rate",
        "%",
        (
            SeriesSpec("cache_hit_rate", "platform caches"),
            SeriesSpec("pg_cache_hit_rate", "PostgreSQL buffers"),
        ),
    ),
)

# Drawn only when the monitor measured them: useful context, not the headline.
OPTIONAL_CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "server_latency",
        "Server latency",
        "ms",
        (
            SeriesSpec("server_p50_ms", "p50"),
            SeriesSpec("server_p95_ms", "p95"),
            SeriesSpec("server_p99_ms", "p99"),
        ),
    ),
    ChartSpec(
        "db_latency",
        "Database latency",
        "ms",
        (
            SeriesSpec("db_query_p95_ms", "query p95"),
            SeriesSpec("db_pool_wait_p95_ms", "pool wait p95"),
        ),
    ),
    ChartSpec(
        "server_in_flight",
        "Requests in flight",
        "requests",
        (SeriesSpec("server_in_flight", "in flight"),),
    ),
    ChartSpec(
        "server_errors",
        "Server error rate",
        "%",
        (SeriesSpec("server_error_rate", "error rate"),),
    ),
    ChartSpec(
        "network",
        "Target network",
        "KB/s",
        (
            SeriesSpec("target_net_sent_bytes_per_s", "sent"),
            SeriesSpec("target_net_recv_bytes_per_s", "received"),
        ),
    ),
    ChartSpec(
        "disk",
        "Target disk",
        "KB/s",
        (
            SeriesSpec("target_disk_read_bytes_per_s", "read"),
            SeriesSpec("target_disk_write_bytes_per_s", "written"),
        ),
    ),
    ChartSpec(
        "process",
        "Target process",
        "count",
        (
            SeriesSpec("target_threads", "threads"),
            SeriesSpec("target_open_fds", "open files"),
        ),
    ),
    ChartSpec("host_memory", "Host memory", "MB", (SeriesSpec("host_memory_used_bytes", "used"),)),
)


def chart_specs(table: JoinedTimeline) -> list[ChartSpec]:
    """The fixed charts, the optional ones with data, then one per monitor column left over."""
    optional = [
        chart for chart in OPTIONAL_CHARTS if any(table.present(s.column) for s in chart.series)
    ]
    named = {s.column for chart in (*CHARTS, *OPTIONAL_CHARTS) for s in chart.series}
    extra = []
    for column in table.monitor_columns:
        if column in named or not table.present(column):
            continue
        extra.append(
            ChartSpec(column, column, chart_unit(column)[0], (SeriesSpec(column, column),))
        )
    return [*CHARTS, *optional, *extra]


def chart_payload(table: JoinedTimeline, max_points: int = MAX_CHART_POINTS) -> dict[str, Any]:
    """The JSON the page's script draws from: a shared x axis, columns, and the chart list."""
    specs = chart_specs(table)
    wanted = {s.column: s.scale for chart in specs for s in chart.series if table.present(s.column)}
    x, columns = downsample(
        table.seconds, {name: table.columns[name] for name in wanted}, max_points
    )
    scaled = {
        name: [None if v is None else round(v * wanted[name], 3) for v in values]
        for name, values in columns.items()
    }
    charts = []
    for chart in specs:
        series = [
            {"column": s.column, "label": s.label} for s in chart.series if s.column in scaled
        ]
        charts.append(
            {"id": chart.chart_id, "title": chart.title, "unit": chart.unit, "series": series}
        )
    return {"x": x, "columns": scaled, "charts": charts}
