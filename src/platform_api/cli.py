"""The `platform-api` command: serve the API, migrate, seed data and clean up test runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from platform_api.settings import Settings


def load_settings() -> Settings:
    """Settings from the environment, or one line naming the bad variable and exit 2."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(part) for part in first["loc"]).upper()
        click.echo(f"platform-api: PLATFORM_{field}: {first['msg']}", err=True)
        sys.exit(2)


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

    from platform_api.db import migrate

    settings = load_settings()
    try:
        migrate(settings)
    except Exception as exc:
        click.echo(f"platform-api: cannot prepare the database: {exc}", err=True)
        sys.exit(3)
    # Migrated once here, so the workers do not race each other to do it.
    os.environ["PLATFORM_MIGRATE_ON_STARTUP"] = "false"
    log_file = log_file or settings.log_file
    uvicorn.run(
        "platform_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        log_config=_log_config(log_file, settings.log_level)
        if log_file
        else uvicorn.config.LOGGING_CONFIG,
        timeout_graceful_shutdown=30,
        access_log=False,
    )


@main.command("migrate")
def migrate_command() -> None:
    """Apply the database migrations and exit."""
    from platform_api.db import migrate

    migrate(load_settings())
    click.echo("migrations applied")


def _log_config(path: Path, level: str) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = {"class": "logging.FileHandler", "filename": str(path), "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"file": handler},
        "loggers": {
            name: {"handlers": ["file"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "platform_api")
        },
    }
