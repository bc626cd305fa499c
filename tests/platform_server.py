"""The platform for a test: served in this process's thread, or as a real process, always stopped.

Most tests talk HTTP to the platform and need nothing of a process: `serving_platform` runs
`create_app(Settings(...))` on uvicorn in a thread (as httpx's own test suite serves its app), which
starts in a fraction of a second. Tests of what only a process has (signals, `kill -9`, several
workers, its log) use `running_platform`, which starts `platform-api serve` the one way loadlab does
(`loadlab.target.serve_platform`).

PostgreSQL is found at `PLATFORM_TEST_POSTGRES_URL`, or at the default local server when it answers.
"""

from __future__ import annotations

import functools
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import uvicorn

from loadlab.target import serve_platform
from platform_api.app import create_app
from platform_api.settings import Settings
from waiting import wait_for

BIN = Path(sys.executable).parent
POSTGRES_URL_ENV = "PLATFORM_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class PlatformServer:
    """A platform answering at `base_url`; `popen` is None when it is served in this process."""

    base_url: str
    admin_key: str
    database_url: str
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self.popen is not None, "served in a thread: start it with running_platform"
        return self.popen

    @property
    def pid(self) -> int:
        return self.popen.pid if self.popen is not None else os.getpid()

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    """loadlab's own choice (outside the ephemeral range, where clients' ports come from)."""
    from loadlab.target import free_port as outside_ephemeral_range

    return outside_ephemeral_range()


@functools.cache
def postgres_url() -> str | None:
    """The PostgreSQL for tests: the variable when set, else the default server if it answers."""
    import psycopg

    url = os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.Error:
        if os.environ.get(POSTGRES_URL_ENV):
            raise  # asked for by name: an unreachable server is a failure, not a skip
        return None


def require_postgres() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip(f"no PostgreSQL at {DEFAULT_POSTGRES_URL} (or set {POSTGRES_URL_ENV})")
    return url


def seed(database_url: str, size: str = "small", seed_value: int = 42) -> None:
    env = {**os.environ, "PLATFORM_DATABASE_URL": database_url}
    subprocess.run(
        [str(BIN / "platform-api"), "seed", "--size", size, "--seed", str(seed_value)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one server, dropped afterwards."""
    import psycopg

    base = require_postgres()
    name = f"platform_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Heavy work in the request's thread unless a test asks for the pool (tests/platform/test_heavy.py
# does): each pool process imports the platform anew, which cost the suite a CPU-minute of
# start-ups for tests that never call a heavy endpoint. The HTTP contract is the same either way.
NO_POOL = {"PLATFORM_HEAVY_PROCESSES": "0"}
# PUT /api/v1/admin/faults with this body clears every injected fault.
NO_FAULTS = {
    "latency_ms": 0,
    "latency_jitter_ms": 0,
    "error_rate": 0,
    "leak_bytes_per_request": 0,
    "cpu_ms_per_request": 0,
    "route_pattern": None,
}


def _platform_env(
    database_url: str, admin_key: str, env: Mapping[str, str] | None
) -> dict[str, str]:
    return {
        "PLATFORM_DATABASE_URL": database_url,
        "PLATFORM_ADMIN_API_KEY": admin_key,
        **NO_POOL,
        **(env or {}),
    }


def _prepare(workdir: Path, database_url: str | None, seed_size: str | None) -> tuple[str, str]:
    """The database (a fresh SQLite file in `workdir` unless given, seeded when asked) and a new
    admin key, for a platform about to start."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = database_url or f"sqlite:///{workdir / 'platform.db'}"
    if seed_size:
        seed(database_url, seed_size)
    return database_url, "admin-" + secrets.token_hex(16)


# The in-thread server's thread: where its event loop, and SQLite's reads on it, run.
SERVER_THREAD = "platform-server"


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        """The test process keeps its own signal handlers."""


@contextmanager
def serving_platform(
    workdir: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    seed_size: str | None = None,
) -> Iterator[PlatformServer]:
    """`create_app(Settings(...))` on uvicorn in a thread, on a port bound before it starts."""
    database_url, admin_key = _prepare(workdir, database_url, seed_size)
    # Settings read PLATFORM_* variables once, when they are made: these, and none of the test
    # process's own.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    with mock.patch.dict(
        os.environ, {**clean, **_platform_env(database_url, admin_key, env)}, clear=True
    ):
        settings = Settings()
    config = uvicorn.Config(
        create_app(settings), log_config=None, access_log=False, timeout_graceful_shutdown=5
    )
    server = _ThreadServer(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=SERVER_THREAD, daemon=True
    )
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), 60, "the platform to start")
        assert server.started, "the in-thread platform failed to start (see the captured log)"
        yield PlatformServer(f"http://127.0.0.1:{port}", admin_key, database_url, workdir / "log")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the in-thread platform did not stop within 30 s"


@contextmanager
def running_platform(
    workdir: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    seed_size: str | None = None,
    workers: int = 1,
    ready_timeout_s: float = 60,
) -> Iterator[PlatformServer]:
    """`platform-api serve` as a real process, its log in `workdir`."""
    database_url, admin_key = _prepare(workdir, database_url, seed_size)
    log_path = workdir / "platform.log"
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")},
        **_platform_env(database_url, admin_key, env),
    }
    with serve_platform(
        full_env, log_path, workers=workers, ready_timeout_s=ready_timeout_s
    ) as served:
        yield PlatformServer(served.base_url, admin_key, database_url, log_path, served.process)


def stop(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """SIGTERM the server process alone, as a process manager would, and wait for it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=timeout_s)
