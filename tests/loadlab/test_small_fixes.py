"""The small things a new user meets: progress past the plan, Ctrl-C acknowledged at once."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from loadlab_process import SUITES, base_env, start_loadlab
from tiny_target import tiny_target

from loadlab.histograms import LiveView
from loadlab.progress import format_line
from waiting import wait_for


def test_progress_never_counts_past_the_plan() -> None:
    line = format_line(50.0, 45.0, LiveView(3, 5, 1.0, 2.0, 10, 0))
    assert line.startswith("45s/45s stopping  ")
    assert "50s" not in line


def test_ctrl_c_is_acknowledged_before_the_verdict(tmp_path: Path) -> None:
    with (
        tiny_target() as target,
        start_loadlab(
            ["run", "smoke", "--engine", "k6", "--k6-script", str(SUITES / "paced_k6.js"),
             "--users", "1", "--spawn-rate", "1", "--run-time", "60s", "--host", target.url],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        ) as running,
    ):  # fmt: skip
        wait_for(lambda: target.arrivals, 60, "the run to produce load")
        running.process.signal(signal.SIGINT)
        finished = running.finish()
    assert finished.code == 4, finished.stderr
    acknowledged = [line for line in finished.stderr.splitlines() if "stopping the engine" in line]
    assert len(acknowledged) == 1
    assert "verdict: INTERRUPTED (exit 4)" in finished.stdout


def test_a_successful_influxdb_write_says_where_it_went(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loadlab.cli import print_verdict
    from loadlab.results import RunSummary
    from loadlab.runner import RunOutcome

    fixture = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"
    summary = RunSummary.from_dict(json.loads(fixture.read_text()))
    where = "http://127.0.0.1:8086 (InfluxDB 2 bucket 'loadlab')"
    print_verdict(RunOutcome(summary=summary, run_dir=tmp_path, influx_written=where))
    lines = capsys.readouterr().out.splitlines()
    assert f"influxdb: results written to {where}" in lines
    assert not any("thresholds passed" in line and "all 1 " in line for line in lines)
