"""Incremental analysis: each file's figures cached by its content's digest, in the process that
works, so that a file met again is not parsed again and the answer stays the same."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from test_heavy import TINY_CODEBASE, zip_archive

from platform_api.errors import GatewayTimeout
from platform_api.heavy.analysis import FileCache, FileFigures, analyse_archive, summarise
from platform_api.heavy.budget import Budget
from platform_api.heavy.service import analysis_read
from platform_backends import start
from platform_server import PlatformServer

# Where the cache lives: in the pool's process, or in the server itself with no pool.
CACHED = {
    "pool": {"PLATFORM_HEAVY_PROCESSES": "1"},
    "in-thread": {"PLATFORM_HEAVY_PROCESSES": "0"},
}
UNCACHED = {"PLATFORM_HEAVY_PROCESSES": "1", "PLATFORM_ANALYSIS_CACHE_FILES": "0"}
ANALYSE = "/api/v1/analysis/codebase"


def codebase(prefix: str = "app") -> dict[str, str]:
    """test_heavy's tiny codebase with a fresh tag in each file, so that no other test sends these
    files (with no pool, every in-thread server shares the test process's cache), and two more
    files of the same content as each other."""
    tag = uuid.uuid4().hex
    files = {
        prefix + name.removeprefix("app"): f"# {tag}\n{text}"
        for name, text in TINY_CODEBASE.items()
        if name.endswith(".py")
    }
    files[f"{prefix}/pkg/c.py"] = files[f"{prefix}/pkg/copy.py"] = (
        f"# {tag}\ndef nested():\n    return 1\n"
    )
    return files


def analyse(platform: PlatformServer, body: dict[str, str]) -> dict[str, Any]:
    with httpx.Client(base_url=platform.base_url, timeout=60) as http:
        response = http.post(ANALYSE, json=body, headers=platform.admin_headers())
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def archive_body(files: dict[str, str]) -> dict[str, str]:
    return {"archive_base64": base64.b64encode(zip_archive(files)).decode()}


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without `cached_files`: what must not depend on the cache."""
    return {k: v for k, v in answer.items() if k != "cached_files"}


def uncached(files: dict[str, str]) -> dict[str, Any]:
    """What the analysis answers with no cache, computed here (with no cache, so that this test
    process's own cache, which an in-thread server uses, is left alone)."""
    summary = summarise(analyse_archive(zip_archive(files), Budget(60)))
    return analysis_read(summary).model_dump(exclude={"cached_files"})


@pytest.fixture(scope="module", params=list(CACHED))
def cached(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformServer]:
    with ExitStack() as stack:
        workdir = tmp_path_factory.mktemp(f"analysis-cache-{request.param}")
        yield start(stack, workdir, "sqlite", seed_size="small", env=CACHED[request.param])


@pytest.fixture(scope="module")
def uncached_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformServer]:
    with ExitStack() as stack:
        workdir = tmp_path_factory.mktemp("analysis-uncached")
        yield start(stack, workdir, "sqlite", seed_size="small", env=UNCACHED)


def test_a_second_analysis_of_an_archive_comes_from_the_cache(cached: PlatformServer) -> None:
    files = codebase()
    first = analyse(cached, archive_body(files))
    second = analyse(cached, archive_body(files))
    # The first time, only the copy of c.py (the same content under another path) was cached.
    assert first["files"] == 5
    assert first["cached_files"] == 1
    assert second["cached_files"] == second["files"] == 5
    assert figures(first) == figures(second) == uncached(files)


def test_a_seeded_sample_is_parsed_once(cached: PlatformServer) -> None:
    body = {"sample": "platform-small"}
    first = analyse(cached, body)
    second = analyse(cached, body)
    assert second["cached_files"] == second["files"] == first["files"] > 0
    assert figures(first) == figures(second)


def test_the_same_content_under_other_paths_reports_the_new_paths(
    cached: PlatformServer,
) -> None:
    files = codebase("app")
    moved = {name.replace("app/", "moved/", 1): text for name, text in files.items()}
    first = analyse(cached, archive_body(files))
    second = analyse(cached, archive_body(moved))
    assert second["cached_files"] == second["files"] == 5
    assert {f["file"] for f in first["largest_functions"]} == {
        "app/a.py",
        "app/pkg/b.py",
        "app/pkg/c.py",
        "app/pkg/copy.py",
    }
    assert figures(second) == uncached(moved)
    renamed = [
        {**f, "file": f["file"].replace("app/", "moved/", 1)} for f in first["largest_functions"]
    ]
    assert second["largest_functions"] == renamed


def test_with_the_cache_off_every_file_is_parsed(uncached_server: PlatformServer) -> None:
    files = codebase()
    answers = [analyse(uncached_server, archive_body(files)) for _ in range(2)]
    assert [a["cached_files"] for a in answers] == [0, 0]
    assert answers[0] == answers[1]
    assert figures(answers[0]) == uncached(files)
    samples = [analyse(uncached_server, {"sample": "platform-small"}) for _ in range(2)]
    assert [s["cached_files"] for s in samples] == [0, 0]
    assert samples[0] == samples[1]


def file_figures(lines: int) -> FileFigures:
    return FileFigures(lines=lines, classes=0, syntax_error=False, functions=())


def test_the_cache_evicts_the_least_recently_used_file() -> None:
    cache = FileCache(2)
    cache.put(b"a", file_figures(1))
    cache.put(b"b", file_figures(2))
    assert cache.get(b"a") == file_figures(1)  # a is now the more recently used
    cache.put(b"c", file_figures(3))
    assert b"b" not in cache
    assert (b"a" in cache, b"c" in cache, len(cache)) == (True, True, 2)
    cache.resize(1)
    assert (b"a" in cache, b"c" in cache, len(cache)) == (False, True, 1)
    cache.resize(0)
    assert len(cache) == 0


@pytest.mark.parametrize(("max_files", "second_cached"), [(2, 0), (3, 3)], ids=["under", "fits"])
def test_an_archive_larger_than_the_cache(max_files: int, second_cached: int) -> None:
    """Three files through a cache of two, in the same order each time: each file evicts the one
    that the next analysis needs first, so nothing is ever found; a cache of three keeps them."""
    files = {name: text for name, text in codebase().items() if name.endswith(("a.py", "b.py"))}
    files["app/other.py"] = "def other():\n    return 2\n"
    archive = zip_archive(files)
    cache = FileCache(max_files)
    first = analyse_archive(archive, Budget(60), cache=cache)
    second = analyse_archive(archive, Budget(60), cache=cache)
    assert (first.cached_files, second.cached_files) == (0, second_cached)
    assert len(cache) == max_files
    assert second.functions == first.functions


def test_figures_are_identical_with_and_without_the_cache() -> None:
    archive = zip_archive(codebase())
    cache = FileCache(100)
    plain = analyse_archive(archive, Budget(60))
    found = []
    for _ in range(2):
        again = analyse_archive(archive, Budget(60), cache=cache)
        found.append(again.cached_files)
        # Every field, every function in the same order; only the count of cached files differs.
        assert dataclasses.replace(again, cached_files=0) == plain
    assert (plain.cached_files, found) == (0, [1, 5])


class CountingBudget(Budget):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        super().check()


def test_a_cached_file_still_checks_the_budget() -> None:
    archive = zip_archive(codebase())
    cache = FileCache(100)
    analyse_archive(archive, Budget(60), cache=cache)
    budget = CountingBudget(60)
    assert analyse_archive(archive, budget, cache=cache).cached_files == 5
    assert budget.checks == 5
    with pytest.raises(GatewayTimeout):
        analyse_archive(archive, Budget(0), cache=cache)
