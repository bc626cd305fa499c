"""The one clock of a run: wall-clock and monotonic origins taken together when load starts.

The engine's timeline counts whole epoch seconds, the monitor counts monotonic seconds, and the
reports turn both into wall-clock timestamps. Each reads `t_s` from the same origin: the start of
the whole second in which load started (`second_wall_s`), so `second_wall_s + t_s` is the wall-clock
time of a row whichever part wrote it. `started_at` keeps the exact moment, to the millisecond.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class RunClock:
    wall_s: float  # time.time() when load started
    monotonic_s: float  # time.monotonic() at the same moment

    @classmethod
    def now(cls) -> RunClock:
        return cls(wall_s=time.time(), monotonic_s=time.monotonic())

    @property
    def second_wall_s(self) -> int:
        """The whole epoch second in which load started: `t_s` = 0."""
        return math.floor(self.wall_s)

    @property
    def second_monotonic_s(self) -> float:
        """The monotonic reading at the start of that second, for the monitor's `t_s`."""
        return self.monotonic_s - (self.wall_s - self.second_wall_s)

    def elapsed_s(self) -> float:
        return time.monotonic() - self.monotonic_s

    def started_at(self) -> str:
        return iso(self.wall_s)


def iso(epoch_s: float) -> str:
    """UTC, ISO 8601, to the millisecond: "2026-12-01T23:18:07.412Z"."""
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
