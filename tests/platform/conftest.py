"""A real platform server per test module, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from platform_server import POSTGRES_URL_ENV, PlatformServer, postgres_database, running_platform

BACKENDS = ["sqlite", "postgresql"]


def start(stack: ExitStack, workdir: Path, backend: str, **kwargs: object) -> PlatformServer:
    database_url = None
    if backend == "postgresql":
        if not os.environ.get(POSTGRES_URL_ENV):
            pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_ENV} (set by .ci/run)")
        database_url = stack.enter_context(postgres_database())
    return stack.enter_context(running_platform(workdir, database_url=database_url, **kwargs))  # type: ignore[arg-type]


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


class Account:
    def __init__(self, client: httpx.Client, user: dict[str, object], api_key: str) -> None:
        self.client = client
        self.user = user
        self.api_key = api_key
        self.id = str(user["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def get(self, url: str, **kwargs: object) -> httpx.Response:
        return self.client.get(url, headers=self.headers, **kwargs)  # type: ignore[arg-type]

    def post(self, url: str, **kwargs: object) -> httpx.Response:
        return self.client.post(url, headers=self.headers, **kwargs)  # type: ignore[arg-type]

    def patch(self, url: str, **kwargs: object) -> httpx.Response:
        return self.client.patch(url, headers=self.headers, **kwargs)  # type: ignore[arg-type]

    def delete(self, url: str, **kwargs: object) -> httpx.Response:
        return self.client.delete(url, headers=self.headers, **kwargs)  # type: ignore[arg-type]


def register(client: httpx.Client) -> Account:
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = client.post("/api/v1/auth/register", json={"email": email, "name": "Test User"})
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(client, body["user"], body["api_key"])


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
