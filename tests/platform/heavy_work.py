"""Work for the heavy pool's tests: importable by the spawned processes, and of a known length."""

from __future__ import annotations

import time


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
