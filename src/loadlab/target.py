"""The target of a run: the embedded platform started for it, or a host given by the user.

With no `--host`, loadlab starts `platform-api serve` on a free loopback port with a fresh copy of a
cached, seeded SQLite database, waits for `/health/ready`, and stops it afterwards, on failure and
interrupt too. A given host is only checked for reachability: loadlab is not tied to the platform.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from loadlab.errors import TargetError
from loadlab.processes import stop_group

READY_PATH = "/health/ready"
SEED_SIZES = ("small", "default")


@dataclass(frozen=True)
class TargetInfo:
    base_url: str
    embedded: bool
    pid: int | None = None
    admin_key: str | None = None
    database: str | None = None
    log_path: Path | None = None
    # Seeded members' keys (the embedded platform's), for runs that read as real members do.
    member_keys: tuple[str, ...] = ()


def free_port() -> int:
    """A free loopback port, outside the kernel's ephemeral range.

    Not the port that binding port 0 finds: that range is where outgoing connections take their
    source ports, so a port found free there can be handed to a client before the server that
    asked for it binds it (seen: a Locust master's port taken by a connection of another run).
    """
    low, high = _ephemeral_range()
    chooser = random.Random()  # not the suite's seeded `random`: each process its own ports
    for _ in range(100):
        port = chooser.randrange(PORTS_FROM, 65536)
        if not low <= port <= high and _bindable(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_reachable(base_url: str, *, timeout_s: float = 5.0) -> None:
    """Any HTTP answer will do: the suite, not loadlab, knows which paths the host serves."""
    try:
        httpx.get(base_url, timeout=timeout_s)
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise TargetError(
            f"target {base_url} is unreachable ({reason})",
            hint="start the service or fix --host (omit --host to use the embedded platform)",
        ) from None


def platform_command() -> list[str]:
    beside = Path(sys.executable).with_name("platform-api")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("platform-api")
    if found:
        return [found]
    return [sys.executable, "-c", "from platform_api.cli import main; main()"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "loadlab"


# What a first run waits for, so it can say so (measured on a 2-core machine: docs/loadlab.md).
PORTS_FROM = 10_000  # below: well-known services' ports (PostgreSQL's, Redis's, 8000, 8086)
MEMBER_KEYS = 20  # seeded members a read-only run signs in as (`platform-api seed-keys`)
BUILD_ESTIMATES = {"small": "about 10 seconds", "default": "about a minute"}


def seeded_database(size: str, *, announce: Callable[[str], None] = lambda _: None) -> Path:
    """The cached seeded database for this platform version, built once under a file lock.

    `announce` hears, before a wait, what is happening and how long it takes.
    """
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"platform-{_platform_fingerprint()}-{size}.db"
    if path.exists():
        return path
    with open(directory / "seed.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            announce("another loadlab is building the seeded database; waiting for it...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            announce(
                f"building the {size} seeded database for this platform version (first run "
                f"only: {BUILD_ESTIMATES.get(size, 'a while')}; later runs copy it in a second)..."
            )
            _build_seeded_database(path, size)
    return path


def _platform_fingerprint() -> str:
    """The loadlab version plus a hash of the platform's schema and seeding code."""
    digest = hashlib.sha256(importlib.metadata.version("loadlab").encode())
    spec = importlib.util.find_spec("platform_api")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        root = Path(location)
        # What the seeded data depends on: the schema, the seed, and the text and code it ships.
        patterns = ("migrations/**/*.py", "**/*seed*.py", "**/corpus.py", "**/samples.py")
        files = [path for pattern in patterns for path in root.glob(pattern)]
        files.append(root / "models.py")
        for file in sorted(set(files)):
            if file.is_file():
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def _build_seeded_database(path: Path, size: str) -> None:
    building = path.with_suffix(".building")
    for leftover in path.parent.glob(building.name + "*"):
        leftover.unlink()
    keys = building.with_suffix(".keys-building")
    _prepare(f"sqlite:///{building}", size, path.with_suffix(".seed.log"), keys)
    keys.replace(member_keys_path(path))  # before the database: a database never lacks its keys
    building.replace(path)


def member_keys_path(database: Path) -> Path:
    """The seeded members' keys beside a cached seeded database (valid in every copy of it)."""
    return database.with_suffix(".keys")


def _member_keys(path: Path) -> tuple[str, ...]:
    try:
        return tuple(path.read_text(encoding="utf-8").split())
    except FileNotFoundError:
        return ()


def _prepare(database_url: str, size: str, log_path: Path, keys_path: Path) -> None:
    """Migrate and seed the database at `database_url`, logging to `log_path`, and give
    MEMBER_KEYS of its seeded members keys, written to `keys_path`."""
    env = {**os.environ, "PLATFORM_DATABASE_URL": database_url}
    steps = (
        ["migrate"],
        ["seed", "--size", size],
        ["seed-keys", "--count", str(MEMBER_KEYS), "--out", str(keys_path)],
    )
    with open(log_path, "a") as log:
        for args in steps:
            result = subprocess.run(
                [*platform_command(), *args],
                env=env,
                stdout=log,
                stderr=log,
                timeout=600,
                check=False,
            )
            if result.returncode != 0:
                raise TargetError(
                    f"seeding the embedded platform failed (platform-api {' '.join(args)} exited "
                    f"{result.returncode})",
                    hint=f"see {log_path}",
                )


@contextlib.contextmanager
def embedded_platform(
    run_dir: Path,
    *,
    seed_size: str = "default",
    database_url: str | None = None,
    ready_timeout_s: float = 60.0,
    stop_grace_s: Callable[[], float] = lambda: 10.0,
    announce: Callable[[str], None] = lambda _: None,
) -> Iterator[TargetInfo]:
    """Start the platform on a free loopback port; stop it on the way out, whatever happened.

    By default its database is a throwaway copy of a cached seeded SQLite file, outside the run
    folder (a default-size copy is large). With `database_url` (PostgreSQL) it runs on that
    database, migrated and seeded first (seeding keeps what is there already). Its log stays in the
    run folder.
    """
    log_path = run_dir / "platform.log"
    if database_url is not None:
        with tempfile.TemporaryDirectory(prefix="loadlab-keys-") as scratch:
            keys_path = Path(scratch) / "member.keys"
            _prepare(database_url, seed_size, log_path, keys_path)
            keys = _member_keys(keys_path)
        with _serve(database_url, log_path, ready_timeout_s, stop_grace_s, keys) as target:
            yield target
        return
    with tempfile.TemporaryDirectory(prefix="loadlab-platform-") as scratch:
        database = Path(scratch) / "platform.db"
        seeded = seeded_database(seed_size, announce=announce)
        shutil.copyfile(seeded, database)
        keys = _member_keys(member_keys_path(seeded))
        served = _serve(f"sqlite:///{database}", log_path, ready_timeout_s, stop_grace_s, keys)
        with served as target:
            yield target


@contextlib.contextmanager
def _serve(
    database_url: str,
    log_path: Path,
    ready_timeout_s: float,
    stop_grace_s: Callable[[], float],
    member_keys: tuple[str, ...],
) -> Iterator[TargetInfo]:
    admin_key = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "PLATFORM_DATABASE_URL": database_url,
        "PLATFORM_ADMIN_API_KEY": admin_key,
    }
    with serve_platform(
        env, log_path, ready_timeout_s=ready_timeout_s, stop_grace_s=stop_grace_s
    ) as served:
        yield TargetInfo(
            base_url=served.base_url,
            embedded=True,
            pid=served.process.pid,
            admin_key=admin_key,
            database="postgresql" if database_url.startswith("postgresql") else "sqlite",
            log_path=log_path,
            member_keys=member_keys,
        )


@dataclass(frozen=True)
class ServedPlatform:
    """A `platform-api serve` process that answered `/health/ready` at `base_url`."""

    process: subprocess.Popen[bytes]
    base_url: str


@contextlib.contextmanager
def serve_platform(
    env: Mapping[str, str],
    log_path: Path,
    *,
    workers: int = 1,
    ready_timeout_s: float = 60.0,
    stop_grace_s: Callable[[], float] = lambda: 10.0,
) -> Iterator[ServedPlatform]:
    """The one way to start the platform as a process (loadlab, its tests and benchmarks).

    `env` is the whole environment (`PLATFORM_*` settings included); the log goes to `log_path`,
    never to a pipe; the process group is stopped on the way out, whatever happened.
    """
    process, base_url = _start_on_free_port(env, log_path, ready_timeout_s, workers)
    try:
        yield ServedPlatform(process, base_url)
    finally:
        stop_group(process, grace_s=stop_grace_s())


def _start_on_free_port(
    env: Mapping[str, str],
    log_path: Path,
    ready_timeout_s: float,
    workers: int,
    attempts: int = 3,
) -> tuple[subprocess.Popen[bytes], str]:
    """Another process may take the free port before the platform binds it: then try another."""
    for attempt in range(1, attempts + 1):
        port = free_port()
        command = [*platform_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers)]
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                command,
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, base_url, log_path, ready_timeout_s)
        except TargetError:
            exited_early = process.poll() is not None
            stop_group(process, grace_s=5.0)
            if exited_early and attempt < attempts:
                continue
            raise
        except BaseException:
            stop_group(process, grace_s=0.0)
            raise
        return process, base_url
    raise AssertionError("unreachable")  # the loop returns or raises


def _wait_ready(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise TargetError(
                    f"the embedded platform exited (code {process.returncode}) before it was ready",
                    hint=f"see {log_path}",
                )
            with contextlib.suppress(httpx.HTTPError):
                ready = client.get(base_url + READY_PATH).status_code == 200
                if ready and process.poll() is None:  # not another server on a reused port
                    return
            time.sleep(0.1)
    raise TargetError(
        f"the embedded platform did not answer {READY_PATH} within {timeout_s:g}s",
        hint=f"see {log_path}",
    )
