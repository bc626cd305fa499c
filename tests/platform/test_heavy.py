"""Heavy endpoints against a real, seeded server: project zips, dataset search, code analysis."""

from __future__ import annotations

import ast
import base64
import io
import re
import tarfile
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import anyio
import httpx
import psutil
import pytest
import sqlalchemy as sa
from heavy_work import nap

from platform_accounts import Account
from platform_api.db import create_database
from platform_api.errors import GatewayTimeout, Unavailable
from platform_api.heavy.analysis import complexity
from platform_api.heavy.budget import Budget, database_budget
from platform_api.heavy.pool import HeavyPool
from platform_api.settings import Settings
from platform_backends import BACKENDS, start
from platform_server import PlatformServer, require_postgres, running_platform, stop
from waiting import wait_for

# The platform's default: one pool process (the other test platforms run heavy work inline).
POOL = {"PLATFORM_HEAVY_PROCESSES": "1"}
TEMPLATES = ["fastapi-service", "python-library", "cli-tool"]
TINY_CODEBASE = {
    "app/a.py": (
        "def simple():\n"
        "    return 1\n"
        "\n"
        "\n"
        "def branchy(x):\n"
        "    if x > 0 and x < 10:\n"
        "        return 1\n"
        "    for i in range(x):\n"
        "        if i % 2:\n"
        "            continue\n"
        "    return 0\n"
        "\n"
        "\n"
        "class Greeter:\n"
        "    def greet(self, name):\n"
        '        return f"hi {name}" if name else "hi"\n'
        "\n"
        "    async def wait(self, items):\n"
        "        return [i for i in items if i]\n"
    ),
    "app/pkg/b.py": (
        "def nested():\n"
        "    def inner(a, b):\n"
        "        while a or b or a:\n"
        "            a -= 1\n"
        "        return a\n"
        "    return inner\n"
    ),
    "app/broken.py": "def oops(:\n",
    "app/README.md": "# not Python\n",
}
TINY_ANALYSIS = {
    "files": 3,
    "lines": 26,
    "functions": 6,
    "classes": 1,
    "average_complexity": 2.67,
    "max_complexity": 5,
    "syntax_errors": 1,
    "largest_functions": [
        {"name": "branchy", "file": "app/a.py", "lines": 7, "complexity": 5},
        {"name": "nested", "file": "app/pkg/b.py", "lines": 6, "complexity": 1},
        {"name": "nested.inner", "file": "app/pkg/b.py", "lines": 4, "complexity": 4},
        {"name": "Greeter.wait", "file": "app/a.py", "lines": 2, "complexity": 3},
        {"name": "Greeter.greet", "file": "app/a.py", "lines": 2, "complexity": 2},
        {"name": "simple", "file": "app/a.py", "lines": 2, "complexity": 1},
    ],
    "cached_files": 0,  # the first time a server sees these files
}


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformServer]:
    """Overrides conftest's server: these endpoints need the seeded dataset and samples."""
    with ExitStack() as stack:
        workdir = tmp_path_factory.mktemp(f"heavy-{request.param}")
        yield start(stack, workdir, request.param, seed_size="small", env=POOL)


def zip_archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def tar_gz_archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def workspace(account: Account) -> str:
    return str(account.post("/api/v1/workspaces", json={"name": "heavy"}).json()["id"])


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("files", [1, 37])
def test_generated_project_is_a_zip_of_n_files(member: Account, template: str, files: int) -> None:
    ws = workspace(member)
    response = member.post(
        f"/api/v1/workspaces/{ws}/projects/generate",
        json={"name": "svc_demo", "template": template, "files": files},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert len(names) == len(set(names)) == files
        assert all(name.startswith("svc_demo/") for name in names)
        assert archive.testzip() is None
        for name in names:
            if name.endswith(".py"):
                compile(archive.read(name), name, "exec")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "svc", "template": "cli-tool", "files": 501},
        {"name": "svc", "template": "cli-tool", "files": 0},
        {"name": "Bad-Name", "template": "cli-tool", "files": 3},
        {"name": "svc", "template": "django", "files": 3},
        {"name": "svc", "template": "cli-tool", "files": 3, "extra": 1},
    ],
    ids=["over-max", "zero", "bad-name", "unknown-template", "unknown-field"],
)
def test_bad_generation_requests_are_422(member: Account, body: dict[str, object]) -> None:
    ws = workspace(member)
    response = member.post(f"/api/v1/workspaces/{ws}/projects/generate", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]


def test_generation_in_another_accounts_workspace_is_404(
    client: httpx.Client, member: Account, other_member: Account
) -> None:
    ws = workspace(other_member)
    body = {"name": "svc", "template": "cli-tool", "files": 3}
    assert member.post(f"/api/v1/workspaces/{ws}/projects/generate", json=body).status_code == 404
    assert client.post(f"/api/v1/workspaces/{ws}/projects/generate", json=body).status_code == 401


def test_the_seeded_dataset_is_listed(member: Account) -> None:
    items = member.get("/api/v1/datasets").json()["items"]
    assert {"id": "default", "name": "default", "rows": 10_000} in items


def test_dataset_search_filters_and_walks_every_row_once(
    server: PlatformServer, member: Account
) -> None:
    filters = {"category": "billing", "min_value": 100, "max_value": 250}
    seen: list[tuple[float, int]] = []
    cursor = None
    while True:
        params = {**filters, "limit": 100, **({"cursor": cursor} if cursor else {})}
        response = member.get("/api/v1/datasets/default/search", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        for row in page["items"]:
            assert row["category"] == "billing"
            assert 100 <= row["value"] <= 250
            seen.append((row["value"], row["id"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len({row_id for _, row_id in seen}) == len(seen)
    engine = sa.create_engine(server.database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            expected = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM dataset_rows WHERE dataset_id = 'default' "
                    "AND category = 'billing' AND value >= 100 AND value <= 250"
                )
            )
    finally:
        engine.dispose()
    assert len(seen) == expected > 100


def test_dataset_search_by_name(member: Account) -> None:
    page = member.get("/api/v1/datasets/default/search", params={"q": "AMBER-fal", "limit": 50})
    items = page.json()["items"]
    assert items
    assert all("amber-fal" in row["name"] for row in items)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"min_value": 10, "max_value": 5}, 200),
        ({"limit": 101}, 422),
        ({"cursor": "not-a-cursor"}, 422),
        ({"min_value": "nan"}, 422),
        ({"q": "\x00"}, 422),  # refused by both databases alike (SQLite used to match rows)
        ({"category": "a\x00b"}, 422),
    ],
    ids=["empty-range", "limit-over", "bad-cursor", "nan", "nul-query", "nul-category"],
)
def test_dataset_search_parameters(member: Account, params: dict[str, object], status: int) -> None:
    response = member.get("/api/v1/datasets/default/search", params=params)
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"items": [], "next_cursor": None}


def test_unknown_dataset_is_404(client: httpx.Client, member: Account) -> None:
    assert member.get("/api/v1/datasets/nope/search").status_code == 404
    assert client.get("/api/v1/datasets/default/search").status_code == 401


@pytest.mark.parametrize("pack", [zip_archive, tar_gz_archive], ids=["zip", "tar.gz"])
def test_analysis_of_an_uploaded_archive(member: Account, pack: object) -> None:
    archive = pack(TINY_CODEBASE)  # type: ignore[operator]
    body = {"archive_base64": base64.b64encode(archive).decode()}
    response = member.post("/api/v1/analysis/codebase", json=body)
    assert response.status_code == 200, response.text
    # Both archives hold the same files: whichever of the two this server analyses second finds
    # its three files in the cache (tests/platform/test_analysis_cache.py), with the same figures.
    answer = response.json()
    assert answer["cached_files"] in (0, 3)
    assert {**answer, "cached_files": 0} == TINY_ANALYSIS


def test_analysis_of_the_seeded_samples(member: Account) -> None:
    samples = {
        s["name"]: s["files"] for s in member.get("/api/v1/analysis/samples").json()["items"]
    }
    assert {"platform-small", "platform-medium"} <= set(samples)
    small = member.post("/api/v1/analysis/codebase", json={"sample": "platform-small"}).json()
    assert small["files"] == samples["platform-small"]
    assert small["functions"] > 50
    assert small["classes"] > 10
    assert 1 <= small["average_complexity"] <= small["max_complexity"]
    assert len(small["largest_functions"]) == 10
    sizes = [f["lines"] for f in small["largest_functions"]]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"sample": "platform-small", "archive_base64": "UEsFBg=="}, 422),
        ({"archive_base64": "***"}, 422),
        ({"archive_base64": base64.b64encode(b"plain text").decode()}, 422),
        ({"archive_base64": base64.b64encode(b"PK\x03\x04broken").decode()}, 422),
        ({"archive_base64": base64.b64encode(b"\x1f\x8b\x08\x00" + b"junk" * 9).decode()}, 422),
        ({"sample": "no-such-sample"}, 404),
        ({"sample": "platform-small", "deep": True}, 422),
    ],
    ids=[
        "neither",
        "both",
        "bad-base64",
        "not-an-archive",
        "broken-zip",
        "broken-gzip",
        "unknown",
        "extra",
    ],
)
def test_bad_analysis_requests(member: Account, body: dict[str, object], status: int) -> None:
    response = member.post("/api/v1/analysis/codebase", json=body)
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text


def test_past_the_budget_is_504(tmp_path: Path) -> None:
    """Its own SQLite server: the budget is read at startup (one code path on both databases)."""
    env = {**POOL, "PLATFORM_HEAVY_TIMEOUT_S": "0.05"}
    with (
        running_platform(tmp_path, env=env, seed_size="small") as tight,
        httpx.Client(base_url=tight.base_url, timeout=30) as http,
    ):
        headers = tight.admin_headers()
        response = http.post(
            "/api/v1/analysis/codebase", json={"sample": "platform-medium"}, headers=headers
        )
        assert response.status_code == 504, response.text
        error = response.json()["error"]
        assert error["code"] == "timeout"
        assert "PLATFORM_HEAVY_TIMEOUT_S" in error["message"]
        assert http.get("/health").status_code == 200


SLOW_STATEMENTS = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM (SELECT x FROM c LIMIT 1000000000)",
    "postgresql": "SELECT pg_sleep(30)",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_database_budget_cancels_a_slow_statement(tmp_path: Path, backend: str) -> None:
    """The budget reaches into the database: a 30 s statement stops at 0.05 s, then 504."""
    url = f"sqlite:///{tmp_path / 'budget.db'}" if backend == "sqlite" else require_postgres()
    database = create_database(Settings(database_url=url))
    try:
        with database.read_sessions() as session:
            with pytest.raises(GatewayTimeout), database_budget(session, Budget(0.05)):
                session.execute(sa.text(SLOW_STATEMENTS[backend]))
            session.rollback()
            # The connection is usable again and unbudgeted afterwards.
            assert session.scalar(sa.text("SELECT 1")) == 1
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    return 1\n", 1),
        ("def f(x):\n    if x:\n        return 1\n    elif x > 2:\n        return 2\n", 3),
        ("def f(a, b, c):\n    return a and b or c\n", 3),
        ("def f(xs):\n    return [x for x in xs if x if x > 1]\n", 4),
        ("def f(x):\n    try:\n        pass\n    except ValueError:\n        pass\n", 2),
        ("def f(x):\n    while x:\n        x -= 1\n    return 1 if x else 2\n", 3),
        ("def f(x):\n    match x:\n        case 1: pass\n        case _: pass\n", 3),
        ("def f():\n    def g(x):\n        if x:\n            pass\n    return g\n", 1),
        ("def f(x):\n    return lambda y: y if x else None\n", 2),
        ("async def f(xs):\n    async for x in xs:\n        pass\n", 2),
    ],
    ids=[
        "straight", "if-elif", "bool-ops", "comprehension", "except", "while-ternary", "match",
        "nested-def-excluded", "lambda-included", "async-for",
    ],
)  # fmt: skip
def test_cyclomatic_complexity(source: str, expected: int) -> None:
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
    assert complexity(function) == expected


def test_nesting_too_deep_for_the_parser_is_a_syntax_error(member: Account) -> None:
    deep = "x = " + "-" * 200_000 + "1\n"
    archive = zip_archive({"deep.py": deep, "ok.py": "def f():\n    return 1\n"})
    body = {"archive_base64": base64.b64encode(archive).decode()}
    response = member.post("/api/v1/analysis/codebase", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["syntax_errors"] == 1
    assert response.json()["functions"] == 1


WORK_LOG = re.compile(r"heavy work (\w+) ran in process (\d+) ")
# One function of 80,000 branches: a single unit of work (one file) that runs for seconds, far
# past a 0.25 s budget plus the pool's 0.5 s grace, and that no budget check can interrupt.
RUNAWAY_CODEBASE = {"huge.py": "def f(x):\n" + "    if x: x = 1\n" * 80_000}


def analysis_body(files: dict[str, str]) -> dict[str, str]:
    return {"archive_base64": base64.b64encode(zip_archive(files)).decode()}


def worker_pids(platform: PlatformServer, work: str) -> list[int]:
    """The processes that the debug log says ran `work`, in order."""
    return [int(pid) for name, pid in WORK_LOG.findall(platform.log()) if name == work]


def spawned_workers(platform: PlatformServer) -> list[psutil.Process]:
    """The server's pool processes (not multiprocessing's resource tracker, also a child)."""
    children = psutil.Process(platform.pid).children(recursive=True)
    return [c for c in children if "spawn_main" in " ".join(c.cmdline())]


def wait_for_log(platform: PlatformServer, pattern: str, timeout_s: float) -> re.Match[str]:
    return wait_for(
        lambda: re.search(pattern, platform.log()), timeout_s, f"a log line matching {pattern!r}"
    )


@pytest.mark.parametrize("processes", [0, 1], ids=["in-thread", "process-pool"])
def test_heavy_work_runs_where_the_setting_says(tmp_path: Path, processes: int) -> None:
    """With processes, the debug log names a pool process, not the server; with 0, the server."""
    env = {"PLATFORM_HEAVY_PROCESSES": str(processes), "PLATFORM_LOG_LEVEL": "debug"}
    with (
        running_platform(tmp_path, env=env) as platform,
        httpx.Client(base_url=platform.base_url, timeout=30) as http,
    ):
        headers = platform.admin_headers()
        response = http.post(
            "/api/v1/analysis/codebase", json=analysis_body(TINY_CODEBASE), headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.json() == TINY_ANALYSIS
        ws = http.post("/api/v1/workspaces", json={"name": "heavy"}, headers=headers).json()["id"]
        body = {"name": "svc", "template": "cli-tool", "files": 5}
        response = http.post(
            f"/api/v1/workspaces/{ws}/projects/generate", json=body, headers=headers
        )
        assert response.status_code == 200, response.text
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert len(archive.namelist()) == 5
        workers = {w.pid for w in spawned_workers(platform)}
        assert len(workers) == processes
        for work in ("summarise_archive", "generate_project"):
            pids = worker_pids(platform, work)
            assert len(pids) == 1, platform.log()
            if processes:
                assert pids[0] in workers
            else:
                assert pids[0] == platform.pid


def test_shutdown_leaves_no_pool_process_behind(tmp_path: Path) -> None:
    with running_platform(tmp_path, env={"PLATFORM_HEAVY_PROCESSES": "2"}) as platform:
        children = psutil.Process(platform.pid).children(recursive=True)
        workers = {w.pid for w in spawned_workers(platform)}
        assert len(workers) == 2  # started by the lifespan, before any request
        with httpx.Client(base_url=platform.base_url, timeout=30) as http:
            response = http.post(
                "/api/v1/analysis/codebase",
                json=analysis_body(TINY_CODEBASE),
                headers=platform.admin_headers(),
            )
            assert response.status_code == 200, response.text
        stop(platform.process)  # SIGTERM, as a process manager would
        # uvicorn ends by re-raising the SIGTERM it handled: the log says whether it was clean.
        assert "Application shutdown complete" in platform.log()
        stopped = re.search(r"stopped the heavy worker processes ([\d, ]+)", platform.log())
        assert stopped, platform.log()
        assert {int(pid) for pid in stopped.group(1).split(", ")} == workers
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []


def test_a_runaway_task_is_504_then_the_pool_is_replaced(tmp_path: Path) -> None:
    """Past budget and grace, the pool's process is terminated and the next request succeeds."""
    env = {**POOL, "PLATFORM_HEAVY_TIMEOUT_S": "0.25", "PLATFORM_LOG_LEVEL": "debug"}
    with (
        running_platform(tmp_path, env=env) as platform,
        httpx.Client(base_url=platform.base_url, timeout=30) as http,
    ):
        headers = platform.admin_headers()
        (first,) = spawned_workers(platform)
        response = http.post(
            "/api/v1/analysis/codebase", json=analysis_body(RUNAWAY_CODEBASE), headers=headers
        )
        assert response.status_code == 504, response.text
        assert response.json()["error"]["code"] == "timeout"
        replaced = wait_for_log(platform, r"replaced the heavy worker processes because .*", 30)
        assert str(first.pid) in replaced.group(0)
        _, alive = psutil.wait_procs([first], timeout=10)
        assert alive == []
        response = http.post(
            "/api/v1/analysis/codebase", json=analysis_body(TINY_CODEBASE), headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.json() == TINY_ANALYSIS
        (second,) = spawned_workers(platform)
        assert worker_pids(platform, "summarise_archive") == [second.pid] != [first.pid]


def test_a_dead_worker_process_is_replaced(tmp_path: Path) -> None:
    """A pool process killed from outside (the OOM killer, say) costs no request an error."""
    with (
        running_platform(tmp_path, env={**POOL, "PLATFORM_LOG_LEVEL": "debug"}) as platform,
        httpx.Client(base_url=platform.base_url, timeout=30) as http,
    ):
        (worker,) = spawned_workers(platform)
        worker.kill()
        psutil.wait_procs([worker], timeout=10)
        response = http.post(
            "/api/v1/analysis/codebase",
            json=analysis_body(TINY_CODEBASE),
            headers=platform.admin_headers(),
        )
        assert response.status_code == 200, response.text
        assert response.json() == TINY_ANALYSIS
        assert re.search(
            rf"replaced the heavy worker processes .*; stopped {worker.pid}\b", platform.log()
        )
        (fresh,) = spawned_workers(platform)
        assert worker_pids(platform, "summarise_archive") == [fresh.pid]


# Heavy requests take turns for the pool's processes; the budget counts the work, not the wait.
TURNS = 5
WORK_S = 0.5
BUDGET_S = 2.0  # less than the TURNS x WORK_S that the last request waits plus works


def _take_turns(pool: HeavyPool, requests: int) -> list[object]:
    """`requests` at once, each as a heavy route does it: a turn, then its budget and work."""
    outcomes: list[object] = []

    async def one() -> None:
        try:
            async with pool.slot():
                budget = Budget(BUDGET_S)
                outcomes.append(await anyio.to_thread.run_sync(pool.run, budget, nap, WORK_S))
        except (GatewayTimeout, Unavailable) as exc:
            outcomes.append(exc)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(one)

    anyio.run(main)
    return outcomes


def test_a_queue_in_front_of_the_pool_costs_latency_not_timeouts() -> None:
    pool = HeavyPool(1, wait_s=60)
    pool.start()
    try:
        started = time.monotonic()
        outcomes = _take_turns(pool, TURNS)
        elapsed = time.monotonic() - started
    finally:
        pool.close()
    # The last request waited for four others (2 s, its whole budget) and still had its budget.
    assert outcomes == [WORK_S] * TURNS
    assert elapsed >= TURNS * WORK_S  # one at a time: they did take turns


def test_past_the_wait_for_a_process_is_503() -> None:
    pool = HeavyPool(1, wait_s=0.1)
    pool.start()
    try:
        outcomes = _take_turns(pool, 2)
    finally:
        pool.close()
    assert WORK_S in outcomes
    (refused,) = [o for o in outcomes if isinstance(o, Unavailable)]
    assert refused.headers == {"Retry-After": "5"}
    assert "PLATFORM_HEAVY_WAIT_S" in str(refused)


def test_without_processes_nobody_waits() -> None:
    pool = HeavyPool(0, wait_s=0.1)
    pool.start()
    try:
        assert _take_turns(pool, 3) == [WORK_S] * 3
    finally:
        pool.close()


def test_a_busy_server_answers_503_with_retry_after(tmp_path: Path) -> None:
    """The route waits its turn too: one long analysis holds the only process, the other is
    refused after PLATFORM_HEAVY_WAIT_S (50 ms, far less than parsing the 80,000-line file)."""
    env = {**POOL, "PLATFORM_HEAVY_WAIT_S": "0.05", "PLATFORM_HEAVY_TIMEOUT_S": "2"}
    with (
        running_platform(tmp_path, env=env) as platform,
        httpx.Client(base_url=platform.base_url, timeout=60) as http,
        ThreadPoolExecutor(max_workers=2) as clients,
    ):
        body = analysis_body(RUNAWAY_CODEBASE)
        headers = platform.admin_headers()
        responses = list(
            clients.map(
                lambda _: http.post("/api/v1/analysis/codebase", json=body, headers=headers),
                range(2),
            )
        )
    # The long one finishes or meets its budget, depending on the machine; the other never ran.
    long, refused = sorted(responses, key=lambda r: r.status_code == 503)
    assert long.status_code in (200, 504), long.text
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["code"] == "unavailable"
