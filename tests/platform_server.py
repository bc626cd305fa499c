"""Start the real platform on a free loopback port for a test, and always stop it.

Shared by tests/platform, tests/load_tests and tests/loadlab. The server's log goes to a file
(a pipe that nobody reads would fill and hang uvicorn).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
POSTGRES_URL_ENV = "PLATFORM_TEST_POSTGRES_URL"


@dataclass
class PlatformServer:
    base_url: str
    admin_key: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the platform exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the platform at {base_url} was not ready within {timeout_s} s")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


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

    base = os.environ[POSTGRES_URL_ENV]
    name = f"platform_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_platform(
    workdir: Path,
    *,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    seed_size: str | None = None,
    workers: int = 1,
    ready_timeout_s: float = 60,
) -> Iterator[PlatformServer]:
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = database_url or f"sqlite:///{workdir / 'platform.db'}"
    if seed_size:
        seed(database_url, seed_size)
    port = free_port()
    admin_key = "admin-" + secrets.token_hex(16)
    log_path = workdir / "platform.log"
    full_env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": database_url,
        "PLATFORM_ADMIN_API_KEY": admin_key,
        **(env or {}),
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(BIN / "platform-api"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = PlatformServer(f"http://127.0.0.1:{port}", admin_key, database_url, log_path, process)
    try:
        wait_until_ready(server.base_url, process, ready_timeout_s)
        yield server
    finally:
        stop(process)
