"""Sending the run to InfluxDB 1.x (`/write`) or 2.x (`/api/v2/write` with a token).

The target is given the way k6 takes it (`--out influxdb=http://localhost:8086/k6`): the URL's
path is the 1.x database. With a token the 2.x API is used and the path (or an explicit bucket)
names the bucket. A 1.x database that does not exist yet is created, as k6 does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from loadlab.errors import EXIT_USAGE
from loadlab.reports.errors import ReportError
from loadlab.reports.line_protocol import summary_lines
from loadlab.results import RunSummary

BATCH_LINES = 5_000
TIMEOUT_S = 10.0


class InfluxError(ReportError):
    """Writing to InfluxDB failed; the files of the run were written before (exit 3)."""


class InfluxConfigError(InfluxError):
    """`--influxdb` and its options do not name a usable target (exit 2)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class InfluxTarget:
    """Where to write: `url` is the server's base URL (scheme, host and port only)."""

    url: str
    database: str | None = None  # 1.x
    bucket: str | None = None  # 2.x; with InfluxDB 1.8+ "db/retention_policy"
    org: str | None = None  # 2.x
    token: str | None = None  # 2.x: the API version is 2 exactly when a token is given
    username: str | None = None  # 1.x basic auth, from the URL's user info
    password: str | None = None

    @property
    def api_version(self) -> int:
        return 2 if self.token else 1

    def describe(self) -> str:
        """Where the points go, without credentials, for messages."""
        if self.api_version == 2:
            return f"{self.url} (InfluxDB 2 bucket {self.bucket!r})"
        return f"{self.url} (InfluxDB 1 database {self.database!r})"


def parse_influx_target(
    url: str, *, token: str | None = None, org: str | None = None, bucket: str | None = None
) -> InfluxTarget:
    """Read `--influxdb URL` and its companion options; raise InfluxConfigError if unusable.

    `http://localhost:8086/k6` is the 1.x database `k6`; `http://user:pass@host:8086/k6` adds
    basic auth; with `token`, the 2.x API writes to `bucket` (default: the URL's path) in `org`.
    """
    parts = urlsplit(url)
    example = "e.g. --influxdb http://localhost:8086/loadlab"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InfluxConfigError(f"--influxdb {url!r} is not an http(s) URL; {example}")
    try:
        port = parts.port
    except ValueError:
        raise InfluxConfigError(f"--influxdb {url!r} has an invalid port; {example}") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    base = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    path_name = parts.path.strip("/") or None
    if token:
        chosen = bucket or path_name
        if not chosen:
            raise InfluxConfigError(
                "InfluxDB 2 needs a bucket: give --influxdb-bucket or put it in the URL path, "
                "e.g. --influxdb http://localhost:8086/loadlab --influxdb-token T"
            )
        return InfluxTarget(url=base, bucket=chosen, org=org, token=token)
    database = path_name or bucket
    if not database:
        raise InfluxConfigError(
            f"--influxdb {url!r} names no database; put it in the path, {example}"
        )
    return InfluxTarget(
        url=base, database=database, username=parts.username, password=parts.password
    )


def _batches(lines: Iterable[str], size: int) -> Iterator[str]:
    batch: list[str] = []
    for text in lines:
        batch.append(text)
        if len(batch) >= size:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


class InfluxReporter:
    """Writes the run's points; produces no file."""

    name = "influx"

    def __init__(self, target: InfluxTarget) -> None:
        self.target = target

    def write(self, summary: RunSummary, run_dir: Path) -> list[Path]:
        write_points(self.target, summary_lines(summary))
        return []


def write_points(target: InfluxTarget, lines: Iterable[str]) -> int:
    """POST the lines in batches; returns how many batches were written."""
    auth = (target.username, target.password or "") if target.username else None
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if target.api_version == 2:
        endpoint = "/api/v2/write"
        params = {"bucket": target.bucket or "", "precision": "ms"}
        if target.org:
            params["org"] = target.org
        headers["Authorization"] = f"Token {target.token}"
    else:
        endpoint = "/write"
        params = {"db": target.database or "", "precision": "ms"}
    written = 0
    try:
        with httpx.Client(base_url=target.url, timeout=TIMEOUT_S, auth=auth) as client:
            for body in _batches(lines, BATCH_LINES):
                response = client.post(endpoint, params=params, headers=headers, content=body)
                if target.api_version == 1 and _database_missing(response):
                    _create_database(client, target)
                    response = client.post(endpoint, params=params, headers=headers, content=body)
                _check(response, target)
                written += 1
    except httpx.HTTPError as error:
        raise InfluxError(
            f"could not write to InfluxDB at {target.describe()}: {error}",
            hint="check that InfluxDB is running and the URL is right",
        ) from None
    return written


def _database_missing(response: httpx.Response) -> bool:
    return response.status_code == 404 and "database not found" in response.text


def _create_database(client: httpx.Client, target: InfluxTarget) -> None:
    quoted = (target.database or "").replace("\\", "\\\\").replace('"', '\\"')
    response = client.post("/query", data={"q": f'CREATE DATABASE "{quoted}"'})
    _check(response, target)


def _check(response: httpx.Response, target: InfluxTarget) -> None:
    if response.status_code < 300:
        return
    body = " ".join(response.text.split())[:300]
    hint = None
    if response.status_code in (401, 403):
        hint = "check --influxdb-token (2.x) or the user:password in the URL (1.x)"
    raise InfluxError(
        f"InfluxDB at {target.describe()} refused the write: HTTP {response.status_code} {body}",
        hint=hint,
    )
