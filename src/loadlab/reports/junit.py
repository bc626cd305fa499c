"""JUnit XML: the verdict in the one format every CI system already displays.

Each threshold is a test case named with the user's words; a failed threshold, or one with no
data, is a `<failure>` whose message quotes the measured value and the limit. A run that failed
for a reason no threshold covers (the engine died, the run was interrupted) gets one more case,
so CI never shows green for a red verdict.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from loadlab.reports.formatting import threshold_message
from loadlab.results import RunSummary, ThresholdResult

JUNIT_FILE = "junit.xml"
RUN_CASE = "run completed"


class JunitReporter:
    name = "junit"

    def write(self, summary: RunSummary, run_dir: Path) -> list[Path]:
        path = run_dir / JUNIT_FILE
        tmp = path.with_suffix(".xml.tmp")
        tree = ET.ElementTree(junit_tree(summary))
        ET.indent(tree)
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
        tmp.replace(path)
        return [path]


def junit_tree(summary: RunSummary) -> ET.Element:
    classname = f"loadlab.{summary.scenario}"
    suites = ET.Element("testsuites", name="loadlab")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=classname,
        timestamp=summary.started_at,
        time=f"{summary.duration_s:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("run_id", summary.run_id),
        ("engine", summary.engine),
        ("target", summary.target.host),
        ("exit_code", str(summary.verdict.exit_code)),
        ("verdict", summary.verdict.reason),
    ):
        ET.SubElement(properties, "property", name=key, value=value)
    failures = 0
    for threshold in summary.thresholds:
        failures += _threshold_case(suite, classname, threshold)
    if (not summary.verdict.passed and failures == 0) or not summary.thresholds:
        case = ET.SubElement(suite, "testcase", classname=classname, name=RUN_CASE, time="0")
        if not summary.verdict.passed:
            failure = ET.SubElement(case, "failure", message=summary.verdict.reason, type="run")
            failure.text = f"exit code {summary.verdict.exit_code}"
            failures += 1
    tests = len(suite.findall("testcase"))
    for element in (suites, suite):
        element.set("tests", str(tests))
        element.set("failures", str(failures))
        element.set("errors", "0")
    skipped = sum(t.status == "not_measured" for t in summary.thresholds)
    suite.set("skipped", str(skipped))
    return suites


def _threshold_case(suite: ET.Element, classname: str, threshold: ThresholdResult) -> int:
    case = ET.SubElement(
        suite, "testcase", classname=classname, name=threshold.expression, time="0"
    )
    if threshold.status == "pass":
        ET.SubElement(case, "system-out").text = threshold_message(threshold)
        return 0
    if threshold.status == "not_measured":  # a preset's default this run had no source for
        ET.SubElement(case, "skipped", message=threshold.detail or "not measured")
        return 0
    failure = ET.SubElement(
        case, "failure", message=threshold_message(threshold), type=threshold.status
    )
    failure.text = threshold.detail or (
        "the limit was not met"
        if threshold.status == "fail"
        else "too few requests to judge"
        if threshold.status == "inconclusive"
        else "no samples were measured"
    )
    return 1
