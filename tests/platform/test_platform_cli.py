"""`platform-api` commands that prepare the database fail with one line when it is unreachable."""

from __future__ import annotations

import os
import subprocess

import pytest

from platform_server import BIN

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"


@pytest.mark.parametrize(
    "args", [["migrate"], ["serve", "--port", "0"], ["seed", "--size", "small"]], ids=str
)
def test_an_unreachable_database_is_one_line_and_exit_3(args: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / "platform-api"), *args],
        env={**os.environ, "PLATFORM_DATABASE_URL": UNREACHABLE},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("platform-api: cannot prepare the database:")
    assert "Traceback" not in result.stderr
