"""Per-key token buckets: in-process by default, in Redis when several workers share one limit."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

logger = logging.getLogger("platform_api.ratelimit")
DEFAULT_REDIS_PREFIX = "platform:ratelimit:"
REDIS_TIMEOUT_S = 0.5
# One atomic read-refill-take-write per hit, timed by the Redis server's clock so that every worker
# sharing the limit agrees on "now". The key expires once the bucket would be full again.
TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = burst
  updated = now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


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


class RedisRateLimiter:
    """The same token bucket kept in Redis, so that every worker process shares one limit.

    The URL may carry `?key_prefix=` (default `platform:ratelimit:`) so that several platforms, or
    tests, can share one Redis. When Redis is unreachable the limiter lets requests through and
    logs: a rate limit protects the service, it must not take it down.
    """

    def __init__(self, url: str) -> None:
        import redis  # a fifth of a second to import: only a platform configured with Redis

        url, self.prefix = split_key_prefix(url)
        self._error: type[Exception] = redis.RedisError
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._script = self._client.register_script(TOKEN_BUCKET_LUA)
        self._warned_at = 0.0

    def hit(self, key: str, *, rate_per_s: float, burst: int) -> Decision:
        try:
            allowed, tokens = self._script(keys=[self.prefix + key], args=[rate_per_s, burst])
        except self._error as exc:
            self._warn(exc)
            return _decision(True, float(burst), rate_per_s, burst)
        return _decision(bool(int(allowed)), float(tokens), rate_per_s, burst)

    def close(self) -> None:
        self._client.close()

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 60:
            self._warned_at = now
            logger.warning("rate limiter: Redis unavailable, letting requests through: %s", exc)


def split_key_prefix(url: str) -> tuple[str, str]:
    """Take `key_prefix` out of a Redis URL's query: (the URL for redis-py, the prefix)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((value for name, value in query if name == "key_prefix"), DEFAULT_REDIS_PREFIX)
    rest = urlencode([(name, value) for name, value in query if name != "key_prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def _decision(allowed: bool, tokens: float, rate_per_s: float, burst: int) -> Decision:
    return Decision(
        allowed=allowed,
        limit=burst,
        remaining=max(0, int(tokens)),
        reset_s=(burst - tokens) / rate_per_s,
        retry_after_s=0.0 if allowed else (1.0 - tokens) / rate_per_s,
    )
