"""JUnit XML: the verdict in the one format every CI system already displays.

Each threshold is a test case named with the user's words; a failed threshold, or one with no
data, is a `<failure>` whose message quotes the measured value and the limit. A run that failed
for a reason no threshold covers (the engine died, the run was interrupted) gets one more case,
so CI never shows green for a red verdict. A run compared with a baseline gets one case per
regression limit (`regression: p95 +10%`), failed when the change regressed (docs/baselines.md).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from loadlab.baselines import describe_change
from loadlab.comparison_result import Comparison
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
    if summary.comparison is not None:
        failures += _regression_cases(suite, classname, summary.comparison)
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
    suite.set("skipped", str(len(suite.findall("testcase/skipped"))))
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


def _regression_cases(suite: ET.Element, classname: str, comparison: Comparison) -> int:
    failures = 0
    against = f"against {', '.join(comparison.baseline_runs)}"
    for change in comparison.changes:
        if change.endpoint is not None and not change.judged:
            continue  # per-endpoint detail of a run-wide limit: in the HTML report, not a case
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=f"regression: {change.limit}", time="0"
        )
        said = f"{change.verdict}: {describe_change(change)} {against}"
        if change.verdict == "regressed" and change.judged:
            ET.SubElement(case, "failure", message=said, type="regressed").text = (
                change.detail or "the change is beyond the limit and the interval excludes none"
            )
            failures += 1
        elif change.verdict == "inconclusive":
            ET.SubElement(case, "skipped", message=f"{said} ({change.detail or 'too little data'})")
        else:
            ET.SubElement(case, "system-out").text = said + (
                "" if change.judged else " (not judged)"
            )
    return failures
