"""`loadlab compare`, `loadlab baseline` and `loadlab history --trend` on histories of known
runs (synthetic, seeded), and what a judged regression does to a run's verdict and reports."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from history_fixtures import synthetic_run
from loadlab_process import REPO, SCHEMA, loadlab_command

from loadlab.history_config import history_settings
from loadlab.history_store import HistoryStore, default_url
from loadlab.reports import write_reports
from loadlab.reports.line_protocol import summary_lines
from loadlab.results import RunSummary
from loadlab.run_history import RunHistory
from process_harness import Finished, run

LIMITS = '[history]\nbaseline_runs = 3\nregressions = ["p50 +10%", "p95 +10%", "throughput -5%"]\n'


def _loadlab(tmp_path: Path, *args: str) -> Finished:
    return run([*loadlab_command(), *args], tmp_path / "logs", cwd=REPO, timeout_s=120)


def _history(tmp_path: Path, runs: Sequence[RunSummary], config: str = LIMITS) -> list[str]:
    (tmp_path / "loadlab.toml").write_text(config)
    store = HistoryStore(default_url(tmp_path / "results"))
    try:
        return [store.record(summary, summary.run_id) for summary in runs]
    finally:
        store.close()


def _options(tmp_path: Path) -> list[str]:
    return ["--results-dir", str(tmp_path / "results"), "--config", str(tmp_path / "loadlab.toml")]


@pytest.mark.parametrize(
    ("factor", "code", "verdicts"),
    [
        pytest.param(1.5, 1, {"REGRESSED"}, id="50pct-slower-regressed-exit-1"),
        pytest.param(0.6, 0, {"IMPROVED"}, id="faster-improved-exit-0"),
    ],
)
def test_compare_judges_a_known_change(
    factor: float, code: int, verdicts: set[str], tmp_path: Path
) -> None:
    baseline = [synthetic_run(f"b{n}", seed=n) for n in range(3)]
    _history(tmp_path, [*baseline, synthetic_run("now", seed=50, factor=factor)])
    done = _loadlab(tmp_path, "compare", "now", *_options(tmp_path))
    assert done.code == code, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "baseline (the last passing runs alike): b0, b1, b2"
    judged = [line for line in lines if "(not judged)" not in line and "(limit" in line]
    latency = [line for line in judged if line.split()[1].startswith(("p50", "p95"))]
    assert len(latency) == 2
    assert {line.split()[0] for line in latency} == verdicts


def test_compare_says_how_given_runs_differ(tmp_path: Path) -> None:
    _history(tmp_path, [synthetic_run("few", seed=1, users=7), synthetic_run("now", seed=2)])
    done = _loadlab(tmp_path, "compare", "now", "few", *_options(tmp_path))
    assert done.code == 0, done.stderr
    assert "baseline (given): few" in done.stdout
    assert "differs: few: users 7 (this run: 20)" in done.stdout
    # One baseline run shows no run-to-run spread: per-endpoint verdicts cannot be reached.
    assert "INCONCLUSIVE" in done.stdout


def test_compare_without_a_baseline_is_a_usage_error(tmp_path: Path) -> None:
    _history(tmp_path, [synthetic_run("now", seed=2)])
    done = _loadlab(tmp_path, "compare", "now", *_options(tmp_path))
    assert done.code == 2
    assert done.stderr.count("\n") == 1
    assert "now has no baseline" in done.stderr


def test_baseline_set_show_clear(tmp_path: Path) -> None:
    runs = [synthetic_run(f"b{n}", seed=n) for n in range(3)]
    _history(tmp_path, [*runs, synthetic_run("now", seed=9)])
    pinned = _loadlab(tmp_path, "baseline", "set", "b0", "b2", *_options(tmp_path))
    assert pinned.code == 0, pinned.stderr
    shown = _loadlab(tmp_path, "baseline", "show", *_options(tmp_path))
    assert "smoke on locust: pinned b0, b2" in shown.stdout
    compared = _loadlab(tmp_path, "compare", "now", *_options(tmp_path))
    assert "baseline (pinned): b0, b2" in compared.stdout
    cleared = _loadlab(tmp_path, "baseline", "clear", *_options(tmp_path))
    assert "cleared 1 pinned baseline" in cleared.stdout
    again = _loadlab(tmp_path, "compare", "now", *_options(tmp_path))
    assert "baseline (the last passing runs alike): b0, b1, b2" in again.stdout


@pytest.mark.parametrize(
    ("args", "config", "named"),
    [
        pytest.param(["baseline", "set", "nope"], LIMITS, "no run nope", id="unknown-run"),
        pytest.param(["compare", "nope"], LIMITS, "no run nope", id="compare-unknown"),
        pytest.param(
            ["history"], '[history]\nregressions = ["p95 10%"]\n', "bad regression", id="limit"
        ),
        pytest.param(["history"], "[history]\nkeep = 3\n", "unknown key history.keep", id="key"),
        pytest.param(
            ["history"], "[history]\nbaseline_runs = 0\n", "baseline_runs", id="baseline-runs"
        ),
        pytest.param(
            ["history", "--history-url", "mysql://x/y"], LIMITS, "neither sqlite", id="bad-url"
        ),
        pytest.param(
            ["run", "smoke", "--history-url", "postgresql://nobody@127.0.0.1:1/x"],
            LIMITS,
            "connection failed",
            id="run-with-unreachable-history-stops-before-load",
        ),
        pytest.param(["run", "smoke", "--label", "nokey"], LIMITS, "bad label", id="label"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], config: str, named: str, tmp_path: Path
) -> None:
    _history(tmp_path, [synthetic_run("b0", seed=0)], config="")
    (tmp_path / "loadlab.toml").write_text(config)
    done = _loadlab(tmp_path, *args, *_options(tmp_path))
    assert done.code == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert named in done.stderr


def test_history_trend_marks_the_change_point(tmp_path: Path) -> None:
    runs = [synthetic_run(f"r{n}", seed=n, factor=1.0 if n < 4 else 1.6) for n in range(8)]
    _history(tmp_path, runs)
    done = _loadlab(tmp_path, "history", "--trend", "--scenario", "smoke", *_options(tmp_path))
    assert done.code == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[2:-1]}
    assert list(rows) == [f"r{n}" for n in range(8)]
    marked = [run_id for run_id, line in rows.items() if "*" in line]
    assert marked == ["r4"]
    assert "change point (ruptures PELT)" in done.stdout


def test_a_judged_regression_fails_the_run_in_every_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _history(tmp_path, [synthetic_run(f"b{n}", seed=n) for n in range(3)])
    settings = history_settings(
        {"regressions": ["p95 +10%", "p50 +10%"]}, labels=["branch=main"], cwd=REPO
    )
    recorded = RunHistory(results, settings)
    try:
        summary = recorded.judge(synthetic_run("slow", seed=7, factor=1.5))
        run_dir = results / "slow"
        write_reports(summary, run_dir)
        recorded.record(summary, run_dir)
    finally:
        recorded.close()
    assert recorded.problems == []
    assert summary.verdict.exit_code == 1
    assert summary.verdict.reason.startswith(
        "regressed against 3 baseline runs (b0, b1, b2): p95 +"
    )
    assert summary.labels["branch"] == "main"
    assert len(summary.labels["git_commit"]) == 40
    written = json.loads((run_dir / "summary.json").read_text())
    jsonschema.validate(written, json.loads(SCHEMA.read_text()))
    assert RunSummary.from_dict(written).comparison == summary.comparison
    cases = ElementTree.parse(run_dir / "junit.xml").getroot().iter("testcase")
    regression_cases = {c.get("name"): c for c in cases if c.get("name", "").startswith("regr")}
    assert set(regression_cases) == {"regression: p95 +10%", "regression: p50 +10%"}
    assert all(case.find("failure") is not None for case in regression_cases.values())
    html = (run_dir / "report.html").read_text()
    assert 'id="changes"' in html
    assert html.count('data-verdict="regressed"') >= 2
    points = [p for p in summary_lines(summary) if p.startswith("loadlab_regression,")]
    assert summary.comparison is not None
    assert len(points) == len(summary.comparison.changes)
    assert any("limit=p95\\ +10%" in p and "verdict=regressed" in p for p in points), points


def test_a_run_without_a_baseline_is_recorded_uncompared(tmp_path: Path) -> None:
    results = tmp_path / "results"
    recorded = RunHistory(results, history_settings({}))
    try:
        summary = recorded.judge(dataclasses.replace(synthetic_run("first", seed=1)))
        recorded.record(summary, results / "first")
    finally:
        recorded.close()
    assert summary.comparison is None
    assert summary.verdict.exit_code == 0
