"""End to end: a real `loadlab run` writes every report, `loadlab report` re-renders them, and an
interrupted run still gets its reports."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
from loadlab_process import EMBEDDED_PLATFORM, run_loadlab, start_loadlab

from loadlab.reports.csv_tables import TIMELINE_FILE, stats_file_name
from loadlab.reports.html import HTML_FILE
from loadlab.reports.junit import JUNIT_FILE
from loadlab.results import SUMMARY_FILE, RunSummary
from waiting import wait_for

LOADLAB = Path(sys.executable).parent / "loadlab"
# Small and short: two users for a few seconds against the embedded platform.
RUN_ARGS = ["run", "smoke", "-u", "2", "-r", "2", "--workers", "1", "--seed-size", "small"]


def _only_run_dir(results: Path) -> Path:
    runs = [p for p in results.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def _assert_every_report(run_dir: Path) -> RunSummary:
    summary = RunSummary.read(run_dir)
    schema = json.loads((resources.files("loadlab") / "schema" / "summary.schema.json").read_text())
    errors = jsonschema.Draft202012Validator(schema).iter_errors(
        json.loads((run_dir / SUMMARY_FILE).read_text())
    )
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []

    suite = ET.parse(run_dir / JUNIT_FILE).getroot().find("testsuite")
    assert suite is not None
    names = [case.attrib["name"] for case in suite.findall("testcase")]
    assert names[: len(summary.thresholds)] == [t.expression for t in summary.thresholds]
    failing = {t.expression for t in summary.thresholds if t.status != "pass"}
    for case in suite.findall("testcase"):
        if case.attrib["name"] in failing:
            assert case.find("failure") is not None

    with (run_dir / stats_file_name(summary)).open(newline="") as handle:
        stats = list(csv.DictReader(handle))
    assert stats[-1]["Name"] == "Aggregated"
    assert int(stats[-1]["Request Count"]) == summary.totals.requests
    assert [int(r["Request Count"]) for r in stats[:-1]] == [e.requests for e in summary.endpoints]
    with (run_dir / TIMELINE_FILE).open(newline="") as handle:
        timeline = list(csv.DictReader(handle))
    assert sum(int(r["Request Count"] or 0) for r in timeline) == sum(
        p.requests for p in summary.timeline
    )

    html = (run_dir / HTML_FILE).read_text()
    assert ("PASSED" if summary.verdict.passed else "FAILED") in html
    assert 'src="http' not in html
    assert 'href="http' not in html
    return summary


def test_short_run_writes_every_output_and_report_renders_them_again(tmp_path: Path) -> None:
    results = tmp_path / "results"
    run = run_loadlab(
        [*RUN_ARGS, "-t", "3s"], env={**os.environ, **EMBEDDED_PLATFORM}, results_dir=results
    )
    run_dir = _only_run_dir(results)
    summary = _assert_every_report(run_dir)
    assert run.code == summary.verdict.exit_code, run.stderr
    assert summary.totals.requests > 0
    originals = {name: (run_dir / name).read_bytes() for name in (HTML_FILE, JUNIT_FILE)}
    for name in originals:
        (run_dir / name).unlink()

    again = subprocess.run(
        [str(LOADLAB), "report", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert again.returncode == 0, again.stderr
    for name, content in originals.items():
        assert (run_dir / name).read_bytes() == content, name


def test_report_of_a_folder_without_summary_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(LOADLAB), "report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "summary.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_interrupted_run_still_gets_its_reports(tmp_path: Path) -> None:
    results = tmp_path / "results"
    with start_loadlab(
        [*RUN_ARGS, "-t", "60s"], env={**os.environ, **EMBEDDED_PLATFORM}, results_dir=results
    ) as run:
        wait_for(
            lambda: any(p.stat().st_size > 0 for p in results.glob("*/locust_loadlab.jsonl")),
            90,
            "load to be recorded",
        )
        run.process.signal(signal.SIGINT)
        finished = run.finish()
    returncode = finished.code

    summary = _assert_every_report(_only_run_dir(results))
    assert returncode == 4, finished.stderr
    assert summary.interrupted
    assert summary.verdict.exit_code == 4
    assert "The run was interrupted" in (_only_run_dir(results) / HTML_FILE).read_text()
