"""One JSON error body everywhere, and never a stack trace, whatever goes wrong.

The server here runs with a small body limit, a small rate-limit burst and a fault-injected route,
so that 413, 429 and 500 can be provoked for real.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from platform_accounts import Account, register
from platform_backends import BACKENDS, start
from platform_server import PlatformServer

MAX_BODY_BYTES = 4096
RATE_LIMIT_BURST = 15
FAULTY_PATH = "/api/v1/workspaces/always-faulty"
SERVER_ENV = {
    "PLATFORM_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
    "PLATFORM_RATE_LIMIT_BURST": str(RATE_LIMIT_BURST),
    # So slow that no token comes back within a test.
    "PLATFORM_RATE_LIMIT_PER_S": "0.001",
    "PLATFORM_FAULT_ERROR_RATE": "1",
    "PLATFORM_FAULT_ROUTE_PATTERN": FAULTY_PATH,
}
TRACEBACK_MARKERS = ("Traceback", 'File "', '.py", line', "sqlalchemy", "psycopg", "sqlite3")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformServer]:
    with ExitStack() as stack:
        workdir = tmp_path_factory.mktemp(f"errors-{request.param}")
        yield start(stack, workdir, request.param, env=SERVER_ENV)


def assert_error_body(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error shape: code, message, the response's request id, details; no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    for marker in TRACEBACK_MARKERS:
        assert marker not in response.text, f"{marker!r} leaked into {response.text}"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert isinstance(error["details"], list)
    return error


def test_unknown_path_is_404(client: httpx.Client) -> None:
    assert_error_body(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_unknown_workspace_is_404(member: Account) -> None:
    error = assert_error_body(member.get("/api/v1/workspaces/" + "0" * 32), 404, "not_found")
    assert error["message"] == "Workspace not found"


def test_client_request_id_is_in_the_error(client: httpx.Client) -> None:
    response = client.get("/api/v1/no-such-thing", headers={"X-Request-ID": "req-42"})
    assert assert_error_body(response, 404, "not_found")["request_id"] == "req-42"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/workspaces", {"GET", "POST"}),
        ("POST", "/api/v1/workspaces/" + "0" * 32, {"GET", "PATCH", "DELETE"}),
        ("DELETE", "/health", {"GET"}),
    ],
    ids=["collection", "item", "health"],
)
def test_wrong_method_is_405_with_every_allowed_method(
    client: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, path)
    assert_error_body(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == allowed


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 201}, ["body", "name"]),
        ({"name": "ok", "description": 5}, ["body", "description"]),
        ({"name": "ok", "owner_id": "someone"}, ["body", "owner_id"]),
        ([], ["body"]),
    ],
    ids=["missing", "empty", "too-long", "wrong-type", "unknown-field", "not-an-object"],
)
def test_invalid_body_is_422_naming_the_field(
    member: Account, body: object, loc: list[str]
) -> None:
    error = assert_error_body(member.post("/api/v1/workspaces", json=body), 422, "validation_error")
    assert [detail["loc"] for detail in error["details"]] == [loc]
    assert all(detail["msg"] for detail in error["details"])


@pytest.mark.parametrize(
    "content",
    [b'{"name": ', b"\xff\xfe", b"not json"],
    ids=["truncated", "not-utf8", "text"],
)
def test_undecodable_body_is_422(member: Account, content: bytes) -> None:
    response = member.client.post(
        "/api/v1/workspaces",
        content=content,
        headers={**member.headers, "Content-Type": "application/json"},
    )
    error = assert_error_body(response, 422, "validation_error")
    assert error["details"][0]["loc"][0] == "body"


def test_invalid_query_parameter_is_422(member: Account) -> None:
    error = assert_error_body(
        member.get("/api/v1/workspaces", params={"limit": 0}), 422, "validation_error"
    )
    assert error["details"][0]["loc"] == ["query", "limit"]


def test_nul_character_never_causes_a_500(member: Account) -> None:
    """PostgreSQL text cannot hold NUL: the database's refusal is the client's 422, not a 500."""
    response = member.post("/api/v1/workspaces", json={"name": "a\x00b"})
    if response.status_code != 201:
        assert_error_body(response, 422, "validation_error")


def test_oversized_body_with_length_is_413(member: Account) -> None:
    body = {"name": "big", "description": "x" * MAX_BODY_BYTES}
    assert_error_body(member.post("/api/v1/workspaces", json=body), 413, "payload_too_large")


def test_oversized_streamed_body_is_413(member: Account) -> None:
    """Without Content-Length the limit is enforced while the body streams in."""

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "big", "description": "'
        for _ in range(MAX_BODY_BYTES // 512 + 2):
            yield b"x" * 512
        yield b'"}'

    response = member.client.post(
        "/api/v1/workspaces",
        content=chunks(),
        headers={**member.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_error_body(response, 413, "payload_too_large")


def test_body_just_under_the_limit_is_accepted(member: Account) -> None:
    body = {"name": "fits", "description": "x" * (MAX_BODY_BYTES - 100)}
    assert member.post("/api/v1/workspaces", json=body).status_code == 201


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer", "plk_without_scheme"],
    ids=["missing", "unknown", "basic", "empty-bearer", "no-scheme"],
)
def test_missing_or_bad_key_is_401(client: httpx.Client, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/workspaces", headers=headers)
    assert_error_body(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_bad_test_run_header_is_400(member: Account) -> None:
    response = member.client.get(
        "/api/v1/workspaces", headers={**member.headers, "X-Load-Test-Run": "no spaces allowed"}
    )
    assert_error_body(response, 400, "bad_request")


def test_rate_limited_key_gets_429_with_retry_after(client: httpx.Client) -> None:
    account = register(client)
    statuses = [account.get("/api/v1/auth/me").status_code for _ in range(RATE_LIMIT_BURST)]
    assert statuses == [200] * RATE_LIMIT_BURST
    response = account.get("/api/v1/auth/me")
    assert_error_body(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-limit"] == str(RATE_LIMIT_BURST)
    assert response.headers["ratelimit-remaining"] == "0"
    assert int(response.headers["ratelimit-reset"]) > 0


def test_another_key_is_not_limited_by_a_limited_one(client: httpx.Client) -> None:
    limited, fresh = register(client), register(client)
    for _ in range(RATE_LIMIT_BURST + 1):
        limited.get("/api/v1/auth/me")
    assert limited.get("/api/v1/auth/me").status_code == 429
    assert fresh.get("/api/v1/auth/me").status_code == 200


def test_more_concurrent_writers_than_threads_get_no_5xx(server: PlatformServer) -> None:
    """60 writes at once (the thread pool has 40): none may starve the writer that holds SQLite's
    write lock of a thread, which used to end in 503s from the exhausted database pool."""
    writers = 60
    per_account = RATE_LIMIT_BURST - 3
    limits = httpx.Limits(max_connections=writers)
    with httpx.Client(base_url=server.base_url, timeout=60, limits=limits) as http:
        accounts = [register(http) for _ in range(-(-writers // per_account))]

        def write(i: int) -> int:
            account = accounts[i // per_account]
            body = {"name": f"concurrent-{i}"}
            return http.post("/api/v1/workspaces", json=body, headers=account.headers).status_code

        with ThreadPoolExecutor(writers) as pool:
            statuses = Counter(pool.map(write, range(writers)))
    assert statuses == {201: writers}


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_injected_fault_is_500_without_traceback(member: Account, method: str) -> None:
    response = member.client.request(method, FAULTY_PATH, headers=member.headers)
    assert_error_body(response, 500, "injected_fault")


def test_faults_stay_on_their_route(member: Account) -> None:
    assert member.get("/api/v1/workspaces").status_code == 200
