"""The database backends tests/platform runs against, and a platform started on one of them.

A plain module rather than part of tests/platform/conftest.py, for the reason given in
platform_accounts.py: `from conftest import` breaks when pytest collects several test folders.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from platform_server import PlatformServer, postgres_database, running_platform, serving_platform

BACKENDS = ["sqlite", "postgresql"]


def start(
    stack: ExitStack, workdir: Path, backend: str, *, process: bool = False, **kwargs: object
) -> PlatformServer:
    """A platform on `backend`, stopped when `stack` closes; skips PostgreSQL when it is absent.

    Served in a thread unless the test needs a real `process` (signals, kill -9, workers, its log).
    """
    database_url = None
    if backend == "postgresql":
        database_url = stack.enter_context(postgres_database())
    serve = running_platform if process else serving_platform
    return stack.enter_context(serve(workdir, database_url=database_url, **kwargs))  # type: ignore[arg-type]
