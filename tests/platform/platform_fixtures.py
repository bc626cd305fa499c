"""A real platform server per test module, on SQLite and on PostgreSQL (tests/platform/conftest.py
makes these fixtures visible; they live here so that mypy checks them as a module of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from platform_accounts import Account, register
from platform_backends import BACKENDS, start
from platform_server import PlatformServer


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformServer]:
    with ExitStack() as stack:
        yield start(stack, tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="module")
def client(server: PlatformServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield http


@pytest.fixture
def member(client: httpx.Client) -> Account:
    return register(client)


@pytest.fixture
def other_member(client: httpx.Client) -> Account:
    return register(client)


@pytest.fixture
def admin(client: httpx.Client, server: PlatformServer) -> Account:
    response = client.get("/api/v1/auth/me", headers=server.admin_headers())
    assert response.status_code == 200, response.text
    return Account(client, response.json(), server.admin_key)
