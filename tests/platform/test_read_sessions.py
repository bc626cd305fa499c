"""An authenticated read takes one database connection: the caller is looked up in the route's
own session and thread-pool hop (platform_api.deps), not in a session of its own before it.

The platform runs in this process (`serving_platform`), so the connection pools' checkouts can be
counted with a SQLAlchemy pool event; only the checkouts made where requests' sessions run are
counted (AnyIO's worker threads, and on SQLite the event loop's thread, where short reads run),
not those of the execution worker or the metrics sampler. A count, never a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from platform_accounts import Account, register
from platform_api.models import Dataset, DatasetRow
from platform_server import SERVER_THREAD, PlatformServer, serving_platform

READS = 10


class Checkouts:
    """Connections checked out by request hops, counted while listening."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, *_: Any) -> None:
        name = threading.current_thread().name
        if name.startswith("AnyIO worker thread") or name == SERVER_THREAD:
            with self._lock:
                self.count += 1


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformServer]:
    with serving_platform(Path(tmp_path_factory.mktemp("read-sessions"))) as server:
        add_a_dataset(server.database_url)
        yield server


def add_a_dataset(database_url: str) -> None:
    """One dataset of one row, for the dataset routes (the seed's million rows are not needed)."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            session.add(Dataset(id="tiny", name="Tiny", rows=1))
            session.flush()  # the dataset before its row (foreign key)
            session.add(DatasetRow(dataset_id="tiny", name="one", category="storage", value=1.0))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def http(in_process: PlatformServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=in_process.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def checkouts() -> Iterator[Checkouts]:
    counter = Checkouts()
    event.listen(Pool, "checkout", counter)
    try:
        yield counter
    finally:
        event.remove(Pool, "checkout", counter)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/workspaces",
        "/api/v1/workspaces/{workspace_id}",
        "/api/v1/workspaces/{workspace_id}/workflows",
        "/api/v1/datasets",
        "/api/v1/datasets/tiny/search?category=storage",
        "/api/v1/analysis/samples",
    ],
    ids=["list", "one", "its-workflows", "datasets", "dataset-search", "samples"],
)
def test_an_authenticated_read_takes_one_connection(
    http: httpx.Client, checkouts: Checkouts, path: str
) -> None:
    account = register(http)
    workspace = account.post("/api/v1/workspaces", json={"name": "reads"})
    assert workspace.status_code == 201, workspace.text
    url = path.format(workspace_id=workspace.json()["id"])
    checkouts.count = 0
    statuses = [account.get(url).status_code for _ in range(READS)]
    assert statuses == [200] * READS
    assert checkouts.count == READS


def test_a_bad_key_on_a_read_is_401_and_changes_nothing(http: httpx.Client) -> None:
    account = register(http)
    stranger = Account(http, account.user, "plk_not-a-key")
    for path in ("/api/v1/workspaces", "/api/v1/workspaces/abc/documents"):
        response = stranger.get(path)
        assert response.status_code == 401, response.text
        assert response.headers.get("www-authenticate") == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


def test_a_read_still_carries_its_rate_limit_headers(http: httpx.Client) -> None:
    account = register(http)
    response = account.get("/api/v1/workspaces")
    assert response.status_code == 200, response.text
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(response.headers)
