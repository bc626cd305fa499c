"""What the monitor watches and how often: a frozen value checked before sampling starts.

`option_problems` holds the rules for the user-facing options (`--target-pid`, `--db-url`,
`--sample-interval`); `loadlab run`'s plan applies them before anything starts, and
`MonitorConfig.problems` applies the same ones, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_INTERVAL_S = 0.05
MAX_INTERVAL_S = 60.0


def option_problems(
    *, target_pid: int | None, db_url: str | None, interval_s: float | None
) -> list[str]:
    found: list[str] = []
    if target_pid is not None and target_pid <= 0:
        found.append(f"--target-pid {target_pid} must be a positive process id")
    if db_url is not None and not db_url.startswith(("postgresql://", "postgresql+psycopg://")):
        found.append(
            f"--db-url {db_url!r} must be a postgresql:// URL (SQLite has no statistics views)"
        )
    if interval_s is not None and not MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S:
        found.append(
            f"--sample-interval {interval_s:g} must be between {MIN_INTERVAL_S:g} and "
            f"{MAX_INTERVAL_S:g} seconds"
        )
    return found


@dataclass(frozen=True)
class MonitorConfig:
    base_url: str  # the target; its /metrics is read if present
    target_pid: int | None  # psutil on this process tree when the target is local
    db_url: str | None = None  # PostgreSQL statistics views when given
    interval_s: float = 1.0
    cores: float | None = (
        None  # cores the target may use; default: its CPU affinity, or this host's
    )
    metrics_path: str = "/metrics"

    def problems(self) -> list[str]:
        """Every problem with this configuration, so a user sees them all at once."""
        found: list[str] = []
        if not self.base_url.startswith(("http://", "https://")):
            found.append(f"monitor base URL {self.base_url!r} must start with http:// or https://")
        if self.cores is not None and self.cores <= 0:
            found.append(f"monitor cores {self.cores} must be positive")
        found += option_problems(
            target_pid=self.target_pid, db_url=self.db_url, interval_s=self.interval_s
        )
        return found
