"""Core modules import no output module: parsing a threshold loads neither jinja2 nor httpx."""

from __future__ import annotations

import subprocess
import sys

import pytest

OUTPUT_LIBRARIES = ("jinja2", "httpx", "psycopg", "loadlab.reports")


@pytest.mark.parametrize(
    "module", ["loadlab.thresholds", "loadlab.verdict", "loadlab.metrics", "loadlab.results"]
)
def test_a_core_module_loads_no_output_module(module: str) -> None:
    code = (
        f"import sys, {module}; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {OUTPUT_LIBRARIES!r} "
        f"or m.startswith('loadlab.reports')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
