"""`platform-api seed` as a real subprocess: volume, determinism, idempotence and bad input.

Only the small size runs here; the default size's duration is measured by hand (see the report).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from platform_server import BIN, postgres_database

SMALL_COUNTS = {
    "users": 10,
    "workspaces": 20,
    "workflows": 40,
    "documents": 300,
    "executions": 100,
    "cost_records": 100,
    "dataset_rows": 10_000,
}


def run_seed(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return platform_api(database_url, "seed", *args)


def run_seed_keys(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return platform_api(database_url, "seed-keys", *args)


def platform_api(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "platform-api"), *args],
        env={**os.environ, "PLATFORM_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def counts(database_url: str) -> dict[str, int]:
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return {
                table: int(conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)
                for table in SMALL_COUNTS
            }
    finally:
        engine.dispose()


def fingerprint(database_url: str) -> list[Any]:
    """Rows that must be equal for equal seeds (API key hashes are random on purpose)."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    queries = [
        "SELECT id, email, name FROM users ORDER BY email",
        "SELECT id, workspace_id, title, content FROM documents ORDER BY id",
        "SELECT id, name, category, value FROM dataset_rows ORDER BY id LIMIT 500",
        "SELECT workspace_id, user_id, tokens, cost_usd FROM cost_records ORDER BY id",
        "SELECT name, files FROM code_samples ORDER BY name",
    ]
    try:
        with engine.connect() as conn:
            return [list(conn.execute(sa.text(q)).all()) for q in queries]
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Two empty databases of one kind."""
    if request.param == "sqlite":
        yield [f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"]
        return
    with postgres_database() as first, postgres_database() as second:
        yield [first, second]


def test_small_seed_is_deterministic_and_idempotent(database_urls: list[str]) -> None:
    first, second = database_urls
    result = run_seed(first, "--size", "small", "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert counts(first) == SMALL_COUNTS
    assert run_seed(second, "--size", "small", "--seed", "7").returncode == 0
    assert fingerprint(first) == fingerprint(second)
    samples = {name for name, _files in fingerprint(first)[-1]}
    assert {"platform-small", "platform-medium"} <= samples

    again = run_seed(first, "--size", "small", "--seed", "7")
    assert again.returncode == 0, again.stderr
    assert "exist already" in again.stdout
    assert counts(first) == SMALL_COUNTS


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    first, second = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    assert run_seed(first, "--size", "small", "--seed", "1").returncode == 0
    assert run_seed(second, "--size", "small", "--seed", "2").returncode == 0
    assert counts(first) == counts(second)
    assert fingerprint(first)[1] != fingerprint(second)[1]


@pytest.mark.parametrize(
    ("args", "database_url", "exit_code", "expected"),
    [
        (["--size", "huge"], None, 2, "'huge' is not one of"),
        (["--seed", "many"], None, 2, "'many' is not a valid integer"),
        (["--size", "small"], "mysql://nope", 2, "PLATFORM_DATABASE_URL"),
        (
            ["--size", "small"],
            "postgresql://postgres@127.0.0.1:1/none",
            3,
            "cannot prepare the database",
        ),
    ],
    ids=["unknown-size", "bad-seed", "unknown-database", "unreachable-database"],
)
def test_bad_input_is_one_line_and_no_traceback(
    tmp_path: Path, args: list[str], database_url: str | None, exit_code: int, expected: str
) -> None:
    result = run_seed(database_url or f"sqlite:///{tmp_path / 'x.db'}", *args)
    assert result.returncode == exit_code
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    if exit_code == 3:
        assert len(result.stderr.strip().splitlines()) == 1


def test_seed_keys_sign_in_as_seeded_members(tmp_path: Path) -> None:
    """The keys written are the accounts' (their hashes match), owner-readable only, and replace
    what the accounts had: asking again makes the first keys useless."""
    database_url = f"sqlite:///{tmp_path / 'a.db'}"
    assert run_seed(database_url, "--size", "small").returncode == 0
    out = tmp_path / "keys.txt"
    done = run_seed_keys(database_url, "--count", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "3 seeded accounts" in done.stdout
    keys = out.read_text().split()
    assert len(set(keys)) == 3
    assert out.stat().st_mode & 0o777 == 0o600

    def owners(these: list[str]) -> list[str | None]:
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as conn:
                return [
                    conn.scalar(
                        sa.text("SELECT email FROM users WHERE api_key_hash = :h"),
                        {"h": hashlib.sha256(key.encode()).hexdigest()},
                    )
                    for key in these
                ]
        finally:
            engine.dispose()

    assert owners(keys) == [f"seed-{i:04d}@seed.platform.local" for i in range(3)]
    assert run_seed_keys(database_url, "--count", "3", "--out", str(out)).returncode == 0
    assert owners(keys) == [None, None, None]


def test_seed_keys_without_seeded_accounts_says_so(tmp_path: Path) -> None:
    done = run_seed_keys(f"sqlite:///{tmp_path / 'a.db'}", "--out", str(tmp_path / "k"))
    assert done.returncode == 3
    assert done.stderr.strip() == "platform-api: no seeded accounts: run `platform-api seed` first"
    assert not (tmp_path / "k").exists()


def test_seed_keys_to_a_folder_that_is_not_there_changes_no_key(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'a.db'}"
    assert run_seed(database_url, "--size", "small").returncode == 0
    engine = sa.create_engine(database_url)
    query = sa.text("SELECT api_key_hash FROM users ORDER BY email")
    try:
        with engine.connect() as conn:
            before = conn.scalars(query).all()
        done = run_seed_keys(database_url, "--out", str(tmp_path / "missing" / "keys.txt"))
        with engine.connect() as conn:
            after = conn.scalars(query).all()
    finally:
        engine.dispose()
    assert done.returncode == 2
    assert done.stderr.strip().startswith("platform-api: cannot write --out ")
    assert "Traceback" not in done.stderr
    assert after == before
