"""Per-key token buckets: in-process by default, in Redis when several workers share one limit."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_s)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after_s)))
        return headers


class RateLimiter(Protocol):
    def hit(self, key: str, *, rate_per_s: float, burst: int) -> Decision: ...

    def close(self) -> None: ...


class InProcessRateLimiter:
    """A token bucket per key; refilled lazily, so idle keys cost nothing."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, *, rate_per_s: float, burst: int) -> Decision:
        now = time.monotonic()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - updated) * rate_per_s)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a reset only ever grants more
            self._buckets[key] = (tokens, now)
        return _decision(allowed, tokens, rate_per_s, burst)

    def close(self) -> None:
        self._buckets.clear()


def _decision(allowed: bool, tokens: float, rate_per_s: float, burst: int) -> Decision:
    return Decision(
        allowed=allowed,
        limit=burst,
        remaining=max(0, int(tokens)),
        reset_s=(burst - tokens) / rate_per_s,
        retry_after_s=0.0 if allowed else (1.0 - tokens) / rate_per_s,
    )
