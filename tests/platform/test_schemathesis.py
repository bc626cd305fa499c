"""Schemathesis over the live `/openapi.json`: every operation, every default check, 0 failures.

Runs the real `st` command against a real server, as the admin so that admin routes are reached
too. The seed is fixed so that a failure reproduces (`st` prints `st replay <id>` for it); the
example budget keeps one run well under a minute.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from platform_backends import BACKENDS, start
from platform_server import NO_FAULTS, PlatformServer

ST = Path(sys.executable).parent / "st"
SEED = "20261125"
MAX_EXAMPLES = "10"
FAULTS_PATH = "/api/v1/admin/faults"
# The one exception to the default checks, for one operation: whether an archive's bytes are a
# zip or a tar.gz is beyond what a schema can state, so a schema-valid but undecodable archive
# is rightly refused with 422.
CONFIG = """
[[operations]]
include-path = "/api/v1/analysis/codebase"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx",
]
"""
# Rate limits so high that the fuzzer never meets them: a 429 is not what is under test here.
SERVER_ENV = {
    "PLATFORM_RATE_LIMIT_PER_S": "1000000",
    "PLATFORM_RATE_LIMIT_BURST": "1000000",
    "PLATFORM_REGISTER_RATE_LIMIT_PER_S": "1000000",
    "PLATFORM_REGISTER_RATE_LIMIT_BURST": "1000000",
}


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformServer]:
    with ExitStack() as stack:
        workdir = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
        yield start(stack, workdir, request.param, env=SERVER_ENV)


def operation_names(base_url: str) -> set[str]:
    schema = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    return {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method != "parameters"
    }


def run_schemathesis(server: PlatformServer, workdir: Path, *filters: str) -> set[str]:
    """One `st run`; fails the test on any failure; returns the operations it tested."""
    workdir.mkdir()
    report_dir = workdir / "report"
    output = workdir / "st.log"
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{server.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {server.admin_key}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        *filters,
    ]
    with output.open("wb") as log:
        result = subprocess.run(
            command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, timeout=120, check=False
        )
    text = output.read_text(errors="replace")
    assert result.returncode == 0, f"schemathesis failed ({result.returncode}):\n{text[-8000:]}"
    [junit] = report_dir.glob("junit*.xml")
    suite = ET.parse(junit).getroot()
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0"), text[-8000:]
    return {str(case.get("name")) for case in suite.iter("testcase")}


def test_schemathesis_finds_no_failure(server: PlatformServer, tmp_path: Path) -> None:
    operations = operation_names(server.base_url)
    # Fault injection answers 500 on purpose, so fuzzing its settings would fail every other
    # operation; its own endpoints are never faulted, so they get a run of their own, last.
    tested = run_schemathesis(server, tmp_path / "api", "--exclude-path", FAULTS_PATH)
    try:
        tested |= run_schemathesis(server, tmp_path / "faults", "--include-path", FAULTS_PATH)
    finally:
        reset = httpx.put(
            f"{server.base_url}{FAULTS_PATH}",
            json=NO_FAULTS,
            headers=server.admin_headers(),
            timeout=10,
        )
        assert reset.status_code == 200, reset.text
    untested = operations - tested
    assert not untested, f"schemathesis did not test {sorted(untested)}"
