"""The verdict of a run: one exit code and a reason a person can read, from the thresholds."""

from __future__ import annotations

from collections.abc import Sequence

from loadlab.errors import (
    EXIT_INTERRUPTED,
    EXIT_PASSED,
    EXIT_TARGET_OR_ENGINE,
    EXIT_THRESHOLD_FAILED,
)
from loadlab.reports.formatting import format_value
from loadlab.results import ThresholdResult, Verdict

SATURATION_PERCENT = 90.0


def decide(
    results: Sequence[ThresholdResult],
    *,
    engine_failure: str | None,
    interrupted: bool,
    generator_cpu_percent_max: float | None,
    generator_cores: float = 1.0,
) -> Verdict:
    """Engine failure beats interruption, which beats thresholds: each voids the next."""
    saturated = (
        generator_cpu_percent_max is not None
        and generator_cpu_percent_max > SATURATION_PERCENT * generator_cores
    )
    not_passed = [r for r in results if r.status != "pass"]
    if engine_failure is not None:
        code, reason = EXIT_TARGET_OR_ENGINE, engine_failure
    elif interrupted:
        code, reason = EXIT_INTERRUPTED, "interrupted; partial results"
    elif not_passed:
        names = ", ".join(f"{r.expression} ({r.status.replace('_', ' ')})" for r in not_passed)
        code, reason = (
            EXIT_THRESHOLD_FAILED,
            f"{len(not_passed)} of {len(results)} thresholds did not pass: {names}",
        )
    else:
        code, reason = EXIT_PASSED, f"all {len(results)} thresholds passed"
    if saturated:
        reason += (
            f"; the load generator was saturated (CPU {generator_cpu_percent_max:.0f}%), "
            "so latencies are inflated"
        )
    return Verdict(
        passed=code == EXIT_PASSED,
        exit_code=code,
        reason=reason,
        generator_saturated=saturated,
        generator_cpu_percent_max=generator_cpu_percent_max,
    )


def threshold_lines(results: Sequence[ThresholdResult]) -> list[str]:
    """One line per threshold: the user's words, the measured value, pass or fail."""
    lines = []
    for result in results:
        measured = format_value(result.measured, result.unit)  # as the HTML and JUnit say it
        status = {"pass": "PASS", "fail": "FAIL", "no_data": "NO DATA"}[result.status]
        extra = f"  ({result.detail})" if result.detail and result.status != "pass" else ""
        lines.append(f"{status:<8} {result.expression:<32} measured {measured}{extra}")
    return lines
