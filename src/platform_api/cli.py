"""The `platform-api` command: serve the API, migrate, seed data and clean up test runs."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from platform_api.settings import FaultSettings, Settings


def load_settings() -> Settings:
    """Settings from the environment, or one line naming the bad variable and exit 2."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(part) for part in first["loc"]).upper()
        # The fault settings are a model of their own, read from PLATFORM_FAULT_*.
        prefix = "PLATFORM_FAULT_" if exc.title == FaultSettings.__name__ else "PLATFORM_"
        click.echo(f"platform-api: {prefix}{field}: {first['msg']}", err=True)
        sys.exit(2)


def migrate_or_exit(settings: Settings) -> None:
    """Apply the migrations, or print one line naming what failed and exit 3."""
    from platform_api.db import migrate

    try:
        migrate(settings)
    except Exception as exc:
        click.echo(f"platform-api: cannot prepare the database: {_first_line(exc)}", err=True)
        sys.exit(3)


@click.group()
def main() -> None:
    """The platform: the HTTP API that the load tests exercise."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the server log here instead of stderr.",
)
def serve(host: str, port: int, workers: int, log_file: Path | None) -> None:
    """Serve the API (migrations are applied first)."""
    import uvicorn

    settings = load_settings()
    migrate_or_exit(settings)
    # Migrated once here, so the workers do not race each other to do it.
    os.environ["PLATFORM_MIGRATE_ON_STARTUP"] = "false"
    log_file = log_file or settings.log_file
    # Several workers share one /metrics through prometheus_client's multiprocess mode: the
    # directory must be set before the workers import prometheus_client, and fresh, since stale
    # files from an earlier run would be added in. One worker reports its own process directly.
    metrics_dir = tempfile.mkdtemp(prefix="platform-metrics-") if workers > 1 else None
    if metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    else:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        uvicorn.run(
            "platform_api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            log_config=_log_config(log_file, settings.log_level),
            timeout_graceful_shutdown=30,
            timeout_keep_alive=settings.keep_alive_s,
            access_log=False,
            # uvicorn believes X-Forwarded-For from loopback by default, so any local client
            # could pick the address that the sign-up limit counts: only the named proxies.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@main.command("migrate")
def migrate_command() -> None:
    """Apply the database migrations and exit."""
    migrate_or_exit(load_settings())
    click.echo("migrations applied")


@main.command("seed")
@click.option(
    "--size",
    type=click.Choice(["small", "default"]),
    default="default",
    show_default=True,
    help="small: a few hundred documents and 10,000 dataset rows, for tests.",
)
@click.option("--seed", "seed_value", type=int, default=42, show_default=True)
def seed_command(size: str, seed_value: int) -> None:
    """Fill the database with realistic volume (migrations are applied first)."""
    from platform_api.db import create_database
    from platform_api.seed import seed

    settings = load_settings()
    migrate_or_exit(settings)
    database = create_database(settings)
    try:
        seed(database, size=size, seed_value=seed_value, report=click.echo)
    except SQLAlchemyError as exc:
        # Each part commits on its own, so the parts that finished are kept and a rerun resumes.
        click.echo(f"platform-api: seeding failed: {_first_line(exc)}", err=True)
        sys.exit(3)
    finally:
        database.dispose()


@main.command("seed-keys")
@click.option("--count", type=int, default=20, show_default=True, help="How many accounts.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File for the keys, one per line (written readable by its owner only).",
)
def seed_keys_command(count: int, out: Path) -> None:
    """Give the first COUNT seeded accounts new API keys, for read-only load as real members."""
    if count < 1:
        click.echo("platform-api: --count must be at least 1", err=True)
        sys.exit(2)
    # Written beside --out and renamed once the keys exist: a folder that cannot be written is
    # found before any account's key changes, and a failure leaves an old file as it was.
    try:
        descriptor, partial = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    except OSError as exc:
        click.echo(f"platform-api: cannot write --out {out}: {exc.strerror}", err=True)
        sys.exit(2)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:  # mkstemp: mode 0600
            keys = _issue_keys(count)
            file.writelines(f"{key}\n" for key in keys)
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    click.echo(f"{len(keys)} seeded accounts have new API keys, in {out}")


def _issue_keys(count: int) -> list[str]:
    from platform_api.db import create_database
    from platform_api.seed import issue_seed_keys

    settings = load_settings()
    migrate_or_exit(settings)
    database = create_database(settings)
    try:
        keys = issue_seed_keys(database, count=count)
    except SQLAlchemyError as exc:
        click.echo(f"platform-api: seed-keys failed: {_first_line(exc)}", err=True)
        sys.exit(3)
    finally:
        database.dispose()
    if not keys:
        click.echo("platform-api: no seeded accounts: run `platform-api seed` first", err=True)
        sys.exit(3)
    return keys


def _first_line(exc: BaseException) -> str:
    """Driver errors span lines (statement, parameters, a link); the first one says what failed."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@main.command("cleanup")
@click.option("--run", "run_id", required=True, help="The X-Load-Test-Run id to remove.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def cleanup_command(run_id: str, as_json: bool) -> None:
    """Delete everything that one load-test run created and print the counts."""
    import json

    from platform_api.cleanup import delete_test_run
    from platform_api.db import create_database
    from platform_api.middleware import TEST_RUN_ID

    if not TEST_RUN_ID.match(run_id):
        click.echo(
            f"platform-api: --run {run_id!r}: use 1-64 characters of A-Z a-z 0-9 _ . -", err=True
        )
        sys.exit(2)
    settings = load_settings()
    database = create_database(settings)
    try:
        report = delete_test_run(database, run_id, batch_rows=settings.cleanup_batch_rows)
    except SQLAlchemyError as exc:
        click.echo(f"platform-api: cannot clean up run {run_id}: {_first_line(exc)}", err=True)
        sys.exit(3)
    finally:
        database.dispose()
    if as_json:
        body = {"run_id": run_id, "deleted": report.deleted, "kept": report.kept}
        click.echo(json.dumps({**body, "batches": report.batches, "retries": report.retries}))
    else:
        counts = ", ".join(f"{count} {table}" for table, count in report.deleted.items())
        kept = ", ".join(f"{count} {table}" for table, count in report.kept.items())
        click.echo(f"run {run_id}: deleted {counts}; kept {kept}")


def _log_config(path: Path | None, level: str) -> dict[str, Any]:
    """Every server log record goes through a writer thread (platform_api.logqueue)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    handler = {
        "()": "platform_api.logqueue.background_handler",
        "filename": str(path) if path else None,
        "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"background": handler},
        "loggers": {
            name: {"handlers": ["background"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "platform_api")
        },
    }
