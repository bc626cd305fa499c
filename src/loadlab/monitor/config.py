"""What the monitor watches and how often: a frozen value checked before sampling starts."""

from __future__ import annotations

from dataclasses import dataclass


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
        if not 0.05 <= self.interval_s <= 60:
            found.append(f"monitor interval {self.interval_s} s must be between 0.05 and 60 s")
        if self.cores is not None and self.cores <= 0:
            found.append(f"monitor cores {self.cores} must be positive")
        if self.target_pid is not None and self.target_pid <= 0:
            found.append(f"target pid {self.target_pid} must be a positive process id")
        if self.db_url is not None and not self.db_url.startswith(("postgresql", "sqlite")):
            found.append(
                f"database URL {self.db_url!r} must start with postgresql:// (or sqlite:// "
                "for no statistics views)"
            )
        return found
