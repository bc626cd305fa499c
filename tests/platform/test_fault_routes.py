"""Faults apply to a route template or a prefix; a user's regex is never run against a path.

`route_pattern` used to be a regex searched in every request's path on the event loop: with
`(a+)+$`, one anonymous request for forty `a`s and a `!` froze the server.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from platform_accounts import Account
from platform_api.route_template import RouteTemplate
from platform_server import BIN

EVIL_PATH = "/" + "a" * 40 + "!"
MATCHES = [
    ("/api/v1/auth/me", "/api/v1/auth/me", True),
    ("/api/v1/auth/me", "/api/v1/auth/me/x", False),
    ("/api/v1/auth/me", "/api/v1/auth", False),
    ("/api/v1/workspaces/{workspace_id}", "/api/v1/workspaces/ab12", True),
    ("/api/v1/workspaces/{workspace_id}", "/api/v1/workspaces", False),
    ("/api/v1/workspaces/{workspace_id}", "/api/v1/workspaces/", False),
    ("/api/v1/workspaces/{workspace_id}", "/api/v1/workspaces/ab12/documents", False),
    ("/api/v1/workspaces/*", "/api/v1/workspaces", True),
    ("/api/v1/workspaces/*", "/api/v1/workspaces/ab12/documents", True),
    ("/api/v1/workspaces/*", "/api/v1/workspacesx", False),
    ("/*", "/health", True),
    ("/", "/", True),
    ("/", "/health", False),
    ("/api/v1/{any}/*", EVIL_PATH, False),
]
REFUSED = ["(a+)+$", "^/api/v1/auth/me$", "api/v1", "/a/*/b", "/a{b}", "/{a*}", "/" + "a" * 500]


@pytest.mark.parametrize(("template", "path", "expected"), MATCHES, ids=lambda v: str(v))
def test_a_template_matches_whole_segments(template: str, path: str, expected: bool) -> None:
    assert RouteTemplate.parse(template).matches(path) is expected


@pytest.mark.parametrize(
    "text",
    REFUSED,
    ids=[
        "backtracking",
        "anchored-regex",
        "relative",
        "inner-star",
        "partial-name",
        "star-in-name",
        "too-long",
    ],
)
def test_what_is_not_a_template_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="route template"):
        RouteTemplate.parse(text)


@pytest.fixture
def faults_reset(client: httpx.Client, admin: Account) -> Iterator[None]:
    try:
        yield
    finally:
        reset = client.put("/api/v1/admin/faults", json={}, headers=admin.headers)
        assert reset.status_code == 200, reset.text


@pytest.mark.usefixtures("faults_reset")
def test_a_regex_is_refused_at_runtime(client: httpx.Client, admin: Account) -> None:
    body = {"error_rate": 1.0, "route_pattern": "(a+)+$"}
    refused = client.put("/api/v1/admin/faults", json=body, headers=admin.headers)
    assert refused.status_code == 422, refused.text
    assert "route_pattern" in refused.json()["error"]["details"][0]["loc"]
    assert client.get(EVIL_PATH).status_code == 404
    assert client.get("/health").status_code == 200


@pytest.mark.usefixtures("faults_reset")
def test_faults_follow_the_template(client: httpx.Client, admin: Account, member: Account) -> None:
    body = {"error_rate": 1.0, "route_pattern": "/api/v1/workspaces/{workspace_id}"}
    replaced = client.put("/api/v1/admin/faults", json=body, headers=admin.headers)
    assert replaced.status_code == 200, replaced.text
    faulted = member.get("/api/v1/workspaces/some-id")
    assert faulted.status_code == 500
    assert faulted.json()["error"]["code"] == "injected_fault"
    assert member.get("/api/v1/workspaces").status_code == 200
    assert client.get(EVIL_PATH).status_code == 404

    body["route_pattern"] = "/api/v1/workspaces/*"
    assert client.put("/api/v1/admin/faults", json=body, headers=admin.headers).status_code == 200
    assert member.get("/api/v1/workspaces").status_code == 500
    assert member.get("/api/v1/auth/me").status_code == 200


def test_a_regex_in_the_environment_stops_serve_with_one_line() -> None:
    env = {**os.environ, "PLATFORM_FAULT_ROUTE_PATTERN": "(a+)+$"}
    result = subprocess.run(
        [str(BIN / "platform-api"), "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("platform-api: PLATFORM_FAULT_ROUTE_PATTERN: "), line
    assert "not a regular expression" in line
