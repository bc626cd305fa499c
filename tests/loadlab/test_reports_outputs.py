"""Every file output of `write_reports`, parsed back and compared with the summary it came from."""

from __future__ import annotations

import csv
import dataclasses
import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from loadlab.reports import (
    REPORTERS,
    CsvReporter,
    JunitReporter,
    ReportError,
    reporter_for,
    write_reports,
)
from loadlab.reports.csv_tables import STATS_COLUMNS, TIMELINE_FILE, stats_file_name
from loadlab.reports.html import HTML_FILE
from loadlab.reports.junit import JUNIT_FILE, RUN_CASE
from loadlab.results import SUMMARY_FILE, MonitorData, RunSummary, ThresholdResult, Verdict

FIXTURE = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"


# The latency figures of an endpoint, or of a run, that saw no request at all.
NO_REQUESTS: dict[str, Any] = {
    "requests": 0, "failures": 0, "error_rate": 0.0, "rps": 0.0, "mean_ms": None,
    "min_ms": None, "max_ms": None, "p50_ms": None, "p90_ms": None, "p95_ms": None,
    "p99_ms": None, "p999_ms": None,
}  # fmt: skip


def _summary() -> RunSummary:
    return RunSummary.from_dict(json.loads(FIXTURE.read_text()))


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((resources.files("loadlab") / "schema" / "summary.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _cases(path: Path) -> dict[str, ET.Element]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return {case.attrib["name"]: case for case in suite.findall("testcase")}


def test_write_reports_writes_every_output(tmp_path: Path) -> None:
    summary = _summary()

    written = write_reports(summary, tmp_path)

    expected = {SUMMARY_FILE, HTML_FILE, JUNIT_FILE, stats_file_name(summary), TIMELINE_FILE}
    expected.add("monitor.csv")  # written from the summary too, so `loadlab report` renews it
    assert {p.name for p in written} == expected
    assert all(p.parent == tmp_path and p.stat().st_size > 0 for p in written)
    assert not list(tmp_path.glob("*.tmp"))
    assert RunSummary.read(tmp_path) == summary


def test_written_summary_matches_the_schema(tmp_path: Path) -> None:
    write_reports(_summary(), tmp_path)

    errors = list(_validator().iter_errors(json.loads((tmp_path / SUMMARY_FILE).read_text())))

    assert [e.message for e in errors] == []


def _drop_totals(doc: dict[str, Any]) -> None:
    del doc["totals"]


def _bad_status(doc: dict[str, Any]) -> None:
    doc["thresholds"][0]["status"] = "ok"


def _negative_requests(doc: dict[str, Any]) -> None:
    doc["endpoints"][0]["requests"] = -1


def _unknown_field(doc: dict[str, Any]) -> None:
    doc["timeline"][0]["latency"] = 3


def _string_sample(doc: dict[str, Any]) -> None:
    doc["monitor"]["samples"][0]["target_cpu_percent"] = "high"


def _sample_without_time(doc: dict[str, Any]) -> None:
    del doc["monitor"]["samples"][0]["t_s"]


def _future_version(doc: dict[str, Any]) -> None:
    doc["schema_version"] = 99


@pytest.mark.parametrize(
    "damage",
    [
        _drop_totals,
        _bad_status,
        _negative_requests,
        _unknown_field,
        _string_sample,
        _sample_without_time,
        _future_version,
    ],
    ids=lambda f: f.__name__.lstrip("_"),
)
def test_schema_rejects_a_damaged_summary(damage: Any) -> None:
    doc = json.loads(json.dumps(_summary().to_dict()))
    assert list(_validator().iter_errors(doc)) == []

    damage(doc)

    assert list(_validator().iter_errors(doc)) != []


def test_junit_has_one_case_per_threshold_and_quotes_failures(tmp_path: Path) -> None:
    summary = _summary()

    [path] = JunitReporter().write(summary, tmp_path)

    root = ET.parse(path).getroot()
    cases = _cases(path)
    assert list(cases) == [t.expression for t in summary.thresholds]
    failed = [t for t in summary.thresholds if t.status != "pass"]
    assert root.attrib["tests"] == str(len(summary.thresholds))
    assert root.attrib["failures"] == str(len(failed))
    for threshold in summary.thresholds:
        failure = cases[threshold.expression].find("failure")
        assert (failure is None) == (threshold.status == "pass")
    messages = {
        name: case.find("failure").attrib["message"]  # type: ignore[union-attr]
        for name, case in cases.items()
        if case.find("failure") is not None
    }
    assert messages == {
        "error_rate < 0.1%": "error_rate = 0.324%, limit < 0.1%",
        "throughput > 100/s": "throughput = 58.26/s, limit > 100/s",
        "memory_growth < 100MB/10m": "memory_growth = no data, limit < 100 MB/10m",
    }


@pytest.mark.parametrize(
    ("verdict", "thresholds", "expected_failure"),
    [
        (Verdict(True, 0, "all passed"), (), None),
        (Verdict(False, 3, "the engine exited with code 2"), (), "the engine exited with code 2"),
        (
            Verdict(False, 4, "interrupted after 12 s"),
            (ThresholdResult("p95 < 500ms", "p95", None, "<", 500.0, "ms", 20.0, "pass"),),
            "interrupted after 12 s",
        ),
    ],
    ids=["no-thresholds-passed", "engine-failed", "interrupted-thresholds-passed"],
)
def test_junit_run_case_catches_failures_no_threshold_covers(
    tmp_path: Path,
    verdict: Verdict,
    thresholds: tuple[ThresholdResult, ...],
    expected_failure: str | None,
) -> None:
    summary = dataclasses.replace(_summary(), verdict=verdict, thresholds=thresholds)

    [path] = JunitReporter().write(summary, tmp_path)

    failure = _cases(path)[RUN_CASE].find("failure")
    if expected_failure is None:
        assert failure is None
    else:
        assert failure is not None
        assert failure.attrib["message"] == expected_failure


def test_stats_csv_rows_equal_the_summary(tmp_path: Path) -> None:
    summary = _summary()

    CsvReporter().write(summary, tmp_path)

    with (tmp_path / stats_file_name(summary)).open(newline="") as handle:
        assert next(csv.reader(handle)) == list(STATS_COLUMNS)
    rows = _csv(tmp_path / stats_file_name(summary))
    assert [(r["Type"], r["Name"]) for r in rows] == [
        *((e.method, e.name) for e in summary.endpoints),
        ("", "Aggregated"),
    ]
    for row, stats in zip(rows, [*summary.endpoints, summary.totals], strict=True):
        assert int(row["Request Count"]) == stats.requests
        assert int(row["Failure Count"]) == stats.failures
        assert float(row["95%"]) == stats.p95_ms
        assert float(row["100%"]) == stats.max_ms
        assert float(row["Requests/s"]) == pytest.approx(stats.rps, abs=1e-3)
    assert sum(int(r["Request Count"]) for r in rows[:-1]) == int(rows[-1]["Request Count"])


def test_timeline_csv_joins_timeline_and_monitor(tmp_path: Path) -> None:
    summary = _summary()

    CsvReporter().write(summary, tmp_path)

    rows = _csv(tmp_path / TIMELINE_FILE)
    assert [int(r["t_s"]) for r in rows] == [p.t_s for p in summary.timeline]
    assert sum(int(r["Request Count"]) for r in rows) == summary.totals.requests
    assert int(rows[-1]["Total Request Count"]) == summary.totals.requests
    assert int(rows[-1]["Total Failure Count"]) == summary.totals.failures
    sample = summary.monitor.samples[10]
    row = rows[10]
    for series in ("target_cpu_percent", "target_rss_bytes", "db_pool_waiters", "cache_hit_rate"):
        assert float(row[series]) == pytest.approx(sample[series])
    assert int(rows[1]["Timestamp"]) - int(rows[0]["Timestamp"]) == 1


def test_stats_csv_of_an_endpoint_without_requests_says_na(tmp_path: Path) -> None:
    summary = _summary()
    idle = dataclasses.replace(summary.endpoints[0], **NO_REQUESTS)
    summary = dataclasses.replace(summary, endpoints=(idle,))

    CsvReporter().write(summary, tmp_path)

    row = _csv(tmp_path / stats_file_name(summary))[0]
    assert row["Request Count"] == "0"
    assert row["95%"] == "N/A"


def test_interrupted_run_gets_every_report(tmp_path: Path) -> None:
    summary = _summary()
    cut = summary.timeline[:20]
    summary = dataclasses.replace(
        summary,
        interrupted=True,
        timeline=cut,
        duration_s=20.0,
        verdict=Verdict(False, 4, "interrupted after 20 s; results are partial"),
    )

    written = write_reports(summary, tmp_path)

    assert len(written) == 6
    assert "The run was interrupted" in (tmp_path / HTML_FILE).read_text()
    assert len(_csv(tmp_path / TIMELINE_FILE)) == len(summary.monitor.samples)
    assert list(_validator().iter_errors(json.loads((tmp_path / SUMMARY_FILE).read_text()))) == []


def test_one_failing_output_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / TIMELINE_FILE).mkdir()  # the CSV reporter cannot replace a directory

    with pytest.raises(ReportError, match="csv") as raised:
        write_reports(_summary(), tmp_path)

    assert raised.value.hint is not None
    assert "loadlab report" in raised.value.hint
    for name in (SUMMARY_FILE, HTML_FILE, JUNIT_FILE):
        assert (tmp_path / name).stat().st_size > 0


def test_existing_summary_is_never_rewritten(tmp_path: Path) -> None:
    summary = _summary()
    summary.write(tmp_path)
    before = (tmp_path / SUMMARY_FILE).stat().st_mtime_ns
    text = (tmp_path / SUMMARY_FILE).read_text()

    write_reports(RunSummary.read(tmp_path), tmp_path)

    assert (tmp_path / SUMMARY_FILE).read_text() == text
    assert (tmp_path / SUMMARY_FILE).stat().st_mtime_ns == before


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_reporter_table_names_match(name: str) -> None:
    assert reporter_for(name).name == name


def test_unknown_reporter_lists_the_valid_ones() -> None:
    with pytest.raises(
        ReportError, match="unknown report 'pdf'; valid reports: csv, html, json, junit"
    ):
        reporter_for("pdf")


def test_a_run_that_recorded_nothing_still_gets_every_report(tmp_path: Path) -> None:
    summary = _summary()
    nothing = dataclasses.replace(summary.totals, **NO_REQUESTS)
    summary = dataclasses.replace(
        summary,
        duration_s=0.0,
        totals=nothing,
        endpoints=(),
        errors=(),
        timeline=(),
        monitor=MonitorData(1.0, {"app": "target unreachable"}, (), {}),
        thresholds=(),
        verdict=Verdict(False, 3, "the target did not answer at http://127.0.0.1:1"),
    )

    write_reports(summary, tmp_path)

    assert [r["Name"] for r in _csv(tmp_path / stats_file_name(summary))] == ["Aggregated"]
    assert _csv(tmp_path / TIMELINE_FILE) == []
    html = (tmp_path / HTML_FILE).read_text()
    assert html.count("— no data") == 9  # every fixed chart, none drawn
    failure = _cases(tmp_path / JUNIT_FILE)[RUN_CASE].find("failure")
    assert failure is not None
    assert failure.attrib["message"] == "the target did not answer at http://127.0.0.1:1"
    assert list(_validator().iter_errors(json.loads((tmp_path / SUMMARY_FILE).read_text()))) == []
