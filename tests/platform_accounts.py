"""Accounts on a test platform: a registered member, or the admin, with an authenticated client.

A plain module rather than part of tests/platform/conftest.py: every test folder has a conftest,
and `from conftest import` picks whichever conftest pytest imported last, so a run that collects
tests/platform and another folder together failed to import. tests/conftest.py puts tests/ on
sys.path, as for platform_server.py.
"""

from __future__ import annotations

import uuid

import httpx


class Account:
    """A user of the platform and the key it authenticates with."""

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
    """A new member, registered through the public API."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = client.post("/api/v1/auth/register", json={"email": email, "name": "Test User"})
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(client, body["user"], body["api_key"])
