"""Rate limits per API key: 429 with Retry-After, and one limit shared by workers through Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from platform_accounts import register
from platform_api.ratelimit import InProcessRateLimiter, split_key_prefix
from platform_server import running_platform
from waiting import wait_for

REDIS_URL = os.environ.get("PLATFORM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://h:6379/0", ("redis://h:6379/0", "platform:ratelimit:")),
        ("redis://h:6379/0?key_prefix=t1:", ("redis://h:6379/0", "t1:")),
        (
            "redis://h/1?socket_keepalive=true&key_prefix=x",
            ("redis://h/1?socket_keepalive=true", "x"),
        ),
    ],
    ids=["default-prefix", "own-prefix", "other-options-kept"],
)
def test_the_key_prefix_comes_out_of_the_redis_url(url: str, expected: tuple[str, str]) -> None:
    assert split_key_prefix(url) == expected


def test_the_in_process_bucket_allows_the_burst_then_refuses() -> None:
    limiter = InProcessRateLimiter()
    decisions = [limiter.hit("k", rate_per_s=0.001, burst=3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].headers()["Retry-After"] == str(1000)
    assert limiter.hit("other", rate_per_s=0.001, burst=3).allowed


def test_over_the_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    # A token every 5 s: the four requests meet an empty bucket however slowly they are served
    # (at 2 a second, a busy machine refilled one between two of them).
    env = {"PLATFORM_RATE_LIMIT_PER_S": "0.2", "PLATFORM_RATE_LIMIT_BURST": "3"}
    with (
        running_platform(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        member = register(http)
        answers = [member.get("/api/v1/auth/me") for _ in range(4)]
        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        assert [a.headers["ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
        assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
        limited = answers[3]
        assert limited.status_code == 429, limited.text
        assert limited.json()["error"]["code"] == "rate_limited"
        retry_after_s = int(limited.headers["retry-after"])
        assert 1 <= retry_after_s <= 5
        assert int(limited.headers["ratelimit-reset"]) >= 1

        # Another key has its own bucket.
        assert register(http).get("/api/v1/auth/me").status_code == 200
        # After Retry-After the key is served again.
        wait_for(
            lambda: member.get("/api/v1/auth/me").status_code != 429,
            retry_after_s + 5,
            "the key to be served again after Retry-After",
        )


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    prefix = f"test-ratelimit-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_two_workers_share_one_limit_through_redis(tmp_path: Path, redis_prefix: str) -> None:
    env = {
        "PLATFORM_REDIS_URL": f"{REDIS_URL}?key_prefix={redis_prefix}",
        "PLATFORM_RATE_LIMIT_PER_S": "0.01",
        "PLATFORM_RATE_LIMIT_BURST": "10",
    }
    with (
        running_platform(tmp_path, env=env, workers=2) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        member = register(http)
        # A new connection each time, so that both workers serve some of the requests.
        headers = {**member.headers, "Connection": "close"}
        statuses = [http.get("/api/v1/auth/me", headers=headers).status_code for _ in range(24)]
        assert statuses.count(200) == 10, statuses
        assert statuses.count(429) == 14
        assert statuses[:10] == [200] * 10

    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.exists(f"{redis_prefix}key:{member.id}")
    finally:
        client.close()


def test_an_unreachable_redis_lets_requests_through(tmp_path: Path) -> None:
    env = {"PLATFORM_REDIS_URL": "redis://127.0.0.1:1/0", "PLATFORM_RATE_LIMIT_BURST": "1"}
    with (
        running_platform(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        member = register(http)
        assert [member.get("/api/v1/auth/me").status_code for _ in range(3)] == [200] * 3
        assert "Redis unavailable" in server.log()


def _sign_ups_from_forged_addresses(base_url: str, count: int) -> list[int]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        return [
            http.post(
                "/api/v1/auth/register",
                json={"email": f"fwd-{uuid.uuid4().hex[:10]}@example.com", "name": "F"},
                headers={"X-Forwarded-For": f"203.0.113.{index}"},
            ).status_code
            for index in range(count)
        ]


SIGN_UP_BURST = {
    "PLATFORM_REGISTER_RATE_LIMIT_BURST": "3",
    "PLATFORM_REGISTER_RATE_LIMIT_PER_S": "0.001",
}


def test_x_forwarded_for_does_not_escape_the_sign_up_limit(tmp_path: Path) -> None:
    """By default no proxy is trusted: the limit counts the connection's own address."""
    with running_platform(tmp_path, env=SIGN_UP_BURST) as server:
        statuses = _sign_ups_from_forged_addresses(server.base_url, 10)
    assert statuses == [201] * 3 + [429] * 7


def test_a_named_proxy_is_believed(tmp_path: Path) -> None:
    env = {**SIGN_UP_BURST, "PLATFORM_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with running_platform(tmp_path, env=env) as server:
        statuses = _sign_ups_from_forged_addresses(server.base_url, 10)
    assert statuses == [201] * 10
