"""The database backends tests/platform runs against, and a platform started on one of them.

A plain module rather than part of tests/platform/conftest.py, for the reason given in
platform_accounts.py: `from conftest import` breaks when pytest collects several test folders.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import pytest

from platform_server import POSTGRES_URL_ENV, PlatformServer, postgres_database, running_platform

BACKENDS = ["sqlite", "postgresql"]


def start(stack: ExitStack, workdir: Path, backend: str, **kwargs: object) -> PlatformServer:
    """A platform on `backend`, stopped when `stack` closes; skips PostgreSQL when it is absent."""
    database_url = None
    if backend == "postgresql":
        if not os.environ.get(POSTGRES_URL_ENV):
            pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_ENV} (set by .ci/run)")
        database_url = stack.enter_context(postgres_database())
    return stack.enter_context(running_platform(workdir, database_url=database_url, **kwargs))  # type: ignore[arg-type]
