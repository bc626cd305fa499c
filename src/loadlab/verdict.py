"""The verdict of a run: one exit code and a reason a person can read, from the thresholds."""

from __future__ import annotations

from collections.abc import Sequence

from loadlab.errors import (
    EXIT_INCONCLUSIVE,
    EXIT_INTERRUPTED,
    EXIT_PASSED,
    EXIT_TARGET_OR_ENGINE,
    EXIT_THRESHOLD_FAILED,
    EXIT_USAGE,
)
from loadlab.metrics import format_value
from loadlab.results import ThresholdResult, Verdict

SATURATION_PERCENT = 90.0
WORDS = {
    EXIT_PASSED: "PASS",
    EXIT_THRESHOLD_FAILED: "FAIL",
    EXIT_USAGE: "ERROR",
    EXIT_TARGET_OR_ENGINE: "ERROR",
    EXIT_INTERRUPTED: "INTERRUPTED",
    EXIT_INCONCLUSIVE: "INCONCLUSIVE",
}
STATUS_WORDS = {
    "pass": "PASS",
    "fail": "FAIL",
    "no_data": "NO DATA",
    "inconclusive": "INCONCLUSIVE",
    "not_measured": "NOT MEASURED",
}


def word(exit_code: int) -> str:
    """PASS, FAIL, INCONCLUSIVE, INTERRUPTED or ERROR: what the terminal and the history say."""
    return WORDS.get(exit_code, "ERROR")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def decide(
    results: Sequence[ThresholdResult],
    *,
    engine_failure: str | None,
    interrupted: bool,
    generator_cpu_percent_max: float | None,
    generator_cores: float = 1.0,
    saturated_generators: Sequence[str] = (),
    host_cpu_percent: float | None = None,
    host_cores: float = 1.0,
) -> Verdict:
    """Engine failure beats interruption, which beats a failed threshold, which beats too few
    requests: each voids the next. A threshold not measured never passes and never fails."""
    saturated = bool(saturated_generators) or (
        generator_cpu_percent_max is not None
        and generator_cpu_percent_max > SATURATION_PERCENT * generator_cores
    )
    judged = [r for r in results if r.status != "not_measured"]
    failed = [r for r in judged if r.status in ("fail", "no_data")]
    inconclusive = [r for r in judged if r.status == "inconclusive"]
    if engine_failure is not None:
        code, reason = EXIT_TARGET_OR_ENGINE, engine_failure
    elif interrupted:
        code, reason = EXIT_INTERRUPTED, "interrupted; partial results"
    elif failed:
        names = ", ".join(f"{r.expression} ({r.status.replace('_', ' ')})" for r in failed)
        code = EXIT_THRESHOLD_FAILED
        reason = f"{len(failed)} of {plural(len(judged), 'threshold')} did not pass: {names}"
        if inconclusive:
            reason += f"; {len(inconclusive)} inconclusive"
    elif inconclusive:
        names = ", ".join(r.expression for r in inconclusive)
        code = EXIT_INCONCLUSIVE
        reason = (
            f"too few requests to judge {len(inconclusive)} of "
            f"{plural(len(judged), 'threshold')}: {names} (run longer)"
        )
    else:
        code = EXIT_PASSED
        reason = {0: "no thresholds were judged", 1: "1 threshold passed"}.get(
            len(judged), f"all {len(judged)} thresholds passed"
        )
    not_measured = [r.expression for r in results if r.status == "not_measured"]
    if not_measured:
        reason += (
            f" ({plural(len(not_measured), 'threshold')} not measured: {', '.join(not_measured)})"
        )
    if saturated_generators:  # Locust workers, each on its own core, and engine signals
        reason += (
            f"; the load generator was saturated ({', '.join(saturated_generators)}), "
            "so latencies are inflated"
        )
    elif saturated:
        reason += (
            f"; the load generator was saturated (CPU {generator_cpu_percent_max:.0f}%), "
            "so latencies are inflated"
        )
    elif host_cpu_percent is not None and host_cpu_percent > SATURATION_PERCENT * host_cores:
        # The generator's own processes may stay under their limit while other work on the
        # same cores (the target, loadlab, anything else) starves them: k6 on a shared host.
        # Said, not counted as the generator's saturation: a capacity search goes on.
        reason += (
            f"; the host's CPU was saturated ({host_cpu_percent:.0f}% of {host_cores:g} cores "
            "on average while the load held): the load generator shared it, so latencies may "
            "be inflated"
        )
    return Verdict(
        passed=code == EXIT_PASSED,
        exit_code=code,
        reason=reason,
        generator_saturated=saturated,
        generator_cpu_percent_max=generator_cpu_percent_max,
    )


def measured_text(result: ThresholdResult) -> str:
    """The measured value as every report says it, with its unit.

    A pass with nothing measured is an engine's judgment (loadlab's own such threshold is "no
    data", a failure): k6 passes a threshold that had no samples, whatever its limit.
    """
    if result.status == "not_measured":
        return "not measured"
    if result.measured is None and result.status == "pass":
        return "no samples"
    return format_value(result.measured, result.unit)


def threshold_lines(results: Sequence[ThresholdResult]) -> list[str]:
    """One line per threshold: the user's words, the measured value, and its status."""
    lines = []
    for result in results:
        status = STATUS_WORDS[result.status]
        expression = result.expression
        if result.source != "loadlab":
            expression += f" ({result.source})"
        if result.status in ("inconclusive", "not_measured"):
            lines.append(f"{status:<12} {expression:<32} {result.detail or ''}".rstrip())
            continue
        measured = measured_text(result)  # as the HTML and JUnit say it
        if result.measured is None and result.status == "pass":
            lines.append(f"{status:<12} {expression:<32} {measured}  ({result.detail})")
            continue
        extra = f"  ({result.detail})" if result.detail and result.status != "pass" else ""
        lines.append(f"{status:<12} {expression:<32} measured {measured}{extra}")
    return lines
