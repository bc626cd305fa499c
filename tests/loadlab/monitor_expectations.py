"""What a sample of the monitor must hold against the embedded platform (docs/monitoring.md).

Written out here, not read from loadlab.monitor.series, so a series dropped there fails the tests.
"""

from __future__ import annotations

PLATFORM_SERIES = frozenset(
    {
        "target_cpu_percent", "target_rss_bytes", "target_threads", "target_open_fds",
        "target_disk_read_bytes_per_s", "target_disk_write_bytes_per_s",
        "target_net_sent_bytes_per_s", "target_net_recv_bytes_per_s", "host_cpu_percent",
        "host_memory_used_bytes", "generator_cpu_percent", "generator_max_process_cpu_percent",
        "server_rps", "server_error_rate", "server_p50_ms", "server_p95_ms", "server_p99_ms",
        "server_in_flight", "db_query_p95_ms", "db_pool_size", "db_pool_checked_out",
        "db_pool_overflow", "db_pool_waiters", "db_pool_wait_p95_ms", "db_busy_waits_per_s",
        "db_lock_waits", "db_deadlocks", "cache_hit_rate",
    }
)  # fmt: skip
