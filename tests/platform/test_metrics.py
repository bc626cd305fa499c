"""`/metrics` against the real server: every documented series, route templates, live figures."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from executions_api import new_workflow, run
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from platform_accounts import Account
from platform_server import PlatformServer, running_platform
from waiting import wait_for

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_series() -> list[str]:
    """The metric names of docs/api.md's metrics table, so the test follows the contract."""
    section = API_MD.read_text().split("## Metrics", 1)[1]
    rows = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    names = re.findall(r"`((?:platform|process)_[a-z_]+[a-z])`", rows)
    assert len(names) >= 15, names
    return names


def scrape(http: httpx.Client) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample by name: [(labels, value), ...]."""
    response = http.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    return sum(
        v for ls, v in samples.get(name, []) if all(ls.get(k) == x for k, x in labels.items())
    )


def wait_for_metric(
    http: httpx.Client,
    condition: Callable[[dict[str, list[tuple[dict[str, str], float]]]], bool],
    timeout_s: float = 15,
) -> dict[str, list[tuple[dict[str, str], float]]]:
    def shown() -> dict[str, list[tuple[dict[str, str], float]]] | None:
        samples = scrape(http)
        return samples if condition(samples) else None

    return wait_for(shown, timeout_s, "the metrics to show the expected figures")


def test_every_documented_series_is_exposed(client: httpx.Client, member: Account) -> None:
    member.get("/api/v1/workspaces")
    samples = scrape(client)
    for name in documented_series():
        present = any(s == name or s.startswith(f"{name}_") for s in samples)
        assert present, f"{name} is documented in docs/api.md but not exposed"


def test_routes_are_labelled_by_template(client: httpx.Client, member: Account) -> None:
    workspace_id = member.post("/api/v1/workspaces", json={"name": "m"}).json()["id"]
    for _ in range(3):
        assert member.get(f"/api/v1/workspaces/{workspace_id}").status_code == 200
    text = client.get("/metrics").text
    assert workspace_id not in text
    samples = scrape(client)
    route = "/api/v1/workspaces/{workspace_id}"
    assert value(samples, "platform_http_requests_total", route=route, status="200") >= 3
    assert value(samples, "platform_http_request_duration_seconds_count", route=route) >= 3
    assert value(samples, "platform_db_query_duration_seconds_count", operation="select") > 0


def test_queue_depth_follows_the_executions(client: httpx.Client, member: Account) -> None:
    # The nap outlasts the three submissions and the scrapes by far, even on a busy machine: with
    # a 1 s nap the first execution could end before the third was queued, and the "two running,
    # one waiting" state never existed.
    _, workflow_id = new_workflow(member, [{"type": "sleep", "name": "nap", "seconds": 5}])
    for _ in range(3):
        run(member, workflow_id)
    # Two worker threads: two running, one waiting.
    wait_for_metric(
        client,
        lambda s: (
            value(s, "platform_execution_queue_depth", status="running") == 2
            and value(s, "platform_execution_queue_depth", status="queued") == 1
        ),
    )
    wait_for_metric(
        client,
        lambda s: value(s, "platform_execution_queue_depth", status="running") == 0,
        timeout_s=40,
    )


def test_database_lock_waits_are_counted(client: httpx.Client, server: PlatformServer) -> None:
    """A request that must wait for a lock someone else holds shows up in the lock metrics."""
    member_key = client.post(
        "/api/v1/auth/register", json={"email": f"lock-{time.time_ns()}@example.com", "name": "L"}
    ).json()["api_key"]
    headers = {"Authorization": f"Bearer {member_key}"}
    sqlite = server.database_url.startswith("sqlite")
    metric = "platform_db_busy_waits_total" if sqlite else "platform_db_lock_waits"
    before = value(scrape(client), metric)
    result: list[int] = []

    def write() -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as own:
            result.append(
                own.post("/api/v1/workspaces", json={"name": "x"}, headers=headers).status_code
            )

    writer = threading.Thread(target=write)
    if sqlite:
        engine = create_engine(server.database_url, connect_args={"isolation_level": None})
        with engine.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            writer.start()
            # The write waiting for our lock; then hold it past the 1 ms that makes a wait.
            wait_for_metric(client, lambda s: value(s, "platform_db_busy_waiting") == 1)
            time.sleep(0.01)
            connection.exec_driver_sql("ROLLBACK")
        engine.dispose()
        writer.join(timeout=30)
        wait_for_metric(client, lambda s: value(s, metric) >= before + 1)
        assert value(scrape(client), "platform_db_busy_waiting") == 0
    else:
        with psycopg.connect(server.database_url) as pg:
            pg.execute("LOCK TABLE workspaces IN ACCESS EXCLUSIVE MODE")
            writer.start()
            wait_for_metric(client, lambda s: value(s, metric) >= 1)
            pg.rollback()
        writer.join(timeout=30)
    assert result == [201]


def test_several_workers_report_one_sum(tmp_path: Path) -> None:
    with (
        running_platform(tmp_path, workers=2) as server,
        httpx.Client(base_url=server.base_url, timeout=10, headers={"Connection": "close"}) as http,
    ):
        # The server is ready when one worker answers; the second may still be starting.
        wait_for_metric(http, lambda s: value(s, "platform_db_pool_size") == 40)
        # A new connection each time, so that both workers serve some of the requests.
        for _ in range(25):
            assert http.get("/health").status_code == 200
        # Whichever worker answers the scrape, the count covers both.
        for _ in range(6):
            samples = scrape(http)
            assert value(samples, "platform_http_requests_total", route="/health") == 25
            assert value(samples, "platform_db_pool_size") == 40  # two pools of 20
            assert value(samples, "process_resident_memory_bytes") > 0
