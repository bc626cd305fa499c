"""The platform that the tests of load_tests/ run the suites against (made visible by
tests/load_tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from platform_server import PlatformServer, running_platform


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformServer]:
    """The platform with the small seed, shared by every test here (they run one at a time)."""
    with running_platform(tmp_path_factory.mktemp("load-tests-platform"), seed_size="small") as s:
        yield s
