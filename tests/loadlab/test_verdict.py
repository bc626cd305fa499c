"""The verdict: which exit code a run ends with, and the saturation flag."""

from __future__ import annotations

import pytest

from loadlab.engines.locust import _master_saturation
from loadlab.engines.locust_workers import WorkerTally, saturated_names
from loadlab.results import ThresholdResult
from loadlab.verdict import decide, threshold_lines


def _result(status: str) -> ThresholdResult:
    return ThresholdResult("p95 < 500ms", "p95", None, "<", 500.0, "ms", 12.0, status, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("statuses", "engine_failure", "interrupted", "code"),
    [
        pytest.param(["pass", "pass"], None, False, 0, id="all-pass"),
        pytest.param(["pass", "fail"], None, False, 1, id="one-fails"),
        pytest.param(["no_data"], None, False, 1, id="no-data-is-not-a-pass"),
        pytest.param(["pass"], "k6 exited with code 107", False, 3, id="engine-failed"),
        pytest.param(["fail"], None, True, 4, id="interrupted"),
        pytest.param(["fail"], "locust died", True, 3, id="engine-failure-wins"),
    ],
)
def test_exit_codes(
    statuses: list[str], engine_failure: str | None, interrupted: bool, code: int
) -> None:
    verdict = decide(
        [_result(s) for s in statuses],
        engine_failure=engine_failure,
        interrupted=interrupted,
        generator_cpu_percent_max=10.0,
    )
    assert verdict.exit_code == code
    assert verdict.passed is (code == 0)
    assert not verdict.generator_saturated


@pytest.mark.parametrize(
    ("cpu", "cores", "saturated"),
    [
        (95.0, 1.0, True),
        (85.0, 1.0, False),
        (150.0, 2.0, False),
        (190.0, 2.0, True),
        (None, 1.0, False),
    ],
    ids=["busy-worker", "fine-worker", "k6-on-two-cores", "k6-saturated", "unknown"],
)
def test_saturation_is_flagged(cpu: float | None, cores: float, saturated: bool) -> None:
    verdict = decide(
        [_result("pass")],
        engine_failure=None,
        interrupted=False,
        generator_cpu_percent_max=cpu,
        generator_cores=cores,
    )
    assert verdict.generator_saturated is saturated
    assert ("saturated" in verdict.reason) is saturated


def test_one_line_per_threshold_quotes_the_user() -> None:
    lines = threshold_lines([_result("pass"), _result("no_data")])
    assert lines[0].startswith("PASS")
    assert "p95 < 500ms" in lines[0]
    assert "12 ms" in lines[0]
    assert lines[1].startswith("NO DATA")


@pytest.mark.parametrize(
    ("unit", "measured", "shown"),
    [("percent", 2.565, "2.56%"), ("per_s", 139.12, "139.1/s"), ("bytes", 190_730_240, "190.7 MB")],
    ids=["percent", "rate", "bytes"],
)
def test_the_terminal_quotes_values_as_the_reports_do(
    unit: str, measured: float, shown: str
) -> None:
    result = ThresholdResult("x < 1", "x", None, "<", 1.0, unit, measured, "fail", None)
    [line] = threshold_lines([result])
    assert f"measured {shown}" in line


def test_saturation_is_judged_per_worker_and_names_it() -> None:
    """Each Locust worker against its own core, from the stream the master writes: one busy
    worker on another host is named in the verdict even when the other is idle."""
    tally = WorkerTally()
    tally.host("gen-a_1", "gen-a")
    tally.host("gen-b_2", "gen-b")
    for cpu_a, cpu_b in [(40.0, 12.0), (97.0, 15.0), (88.0, None)]:
        tally.cpu({"gen-a_1": [1, cpu_a], "gen-b_2": [2, cpu_b]})
    tally.stats("gen-a_1", [[0, "GET", "/", "", 7, 1, 0.0]], offset_s=0.002)
    tally.stats("gen-b_2", [[0, "GET", "/", "", 5, 0, 0.0]], offset_s=-29.998)
    tally.lost("gen-b_2", 2, 12.5)
    workers = tally.result()
    assert [(w.index, w.host, w.requests, w.failures) for w in workers] == [
        (1, "gen-a", 7, 1),
        (2, "gen-b", 5, 0),
    ]
    a, b = workers
    assert (a.cpu_percent_max, a.saturated, b.saturated) == (97.0, True, False)
    assert a.cpu_percent_mean == pytest.approx(75.0)
    assert b.cpu_percent_mean == pytest.approx(13.5)  # a second without a figure is not a 0
    assert (b.clock_offset_s, b.lost_at_s, a.lost_at_s) == (-29.998, 12.5, None)
    verdict = decide(
        [_result("pass")],
        engine_failure=None,
        interrupted=False,
        generator_cpu_percent_max=None,
        saturated_generators=saturated_names(workers),
    )
    assert verdict.generator_saturated
    assert "saturated (worker 1 on gen-a (97% of a core))" in verdict.reason
    assert "gen-b" not in verdict.reason


@pytest.mark.parametrize(
    ("host_percent", "said"),
    [(185.0, True), (170.0, False), (None, False)],
    ids=["host-saturated", "host-busy-not-saturated", "host-not-measured"],
)
def test_a_saturated_host_is_said_but_not_the_generators_saturation(
    host_percent: float | None, said: bool
) -> None:
    """k6 under its own limit while the target and loadlab fill the same two cores: the
    verdict says the host was saturated; the generator is not called saturated (a capacity
    search goes on), and the exit code is the thresholds'."""
    verdict = decide(
        [_result("pass")],
        engine_failure=None,
        interrupted=False,
        generator_cpu_percent_max=120.0,
        generator_cores=2.0,
        host_cpu_percent=host_percent,
        host_cores=2.0,
    )
    assert verdict.exit_code == 0
    assert not verdict.generator_saturated
    assert ("the host's CPU was saturated (185% of 2 cores" in verdict.reason) is said


@pytest.mark.parametrize(
    ("signal", "engine"),
    [
        (_master_saturation(96.0)[0], "locust"),
        ("k6, whose output waited on loadlab: the pipe was full in 9 of 60 s", "k6"),
    ],
    ids=["locust-master", "k6-pipe"],
)
def test_an_engine_signal_is_the_generators_saturation(signal: str, engine: str) -> None:
    """Under its CPU limit, the engine still could not keep up: its own signal names it."""
    verdict = decide(
        [_result("pass")],
        engine_failure=None,
        interrupted=False,
        generator_cpu_percent_max=40.0,
        saturated_generators=(signal,),
    )
    assert verdict.exit_code == 0
    assert verdict.generator_saturated
    assert f"the load generator was saturated ({signal})" in verdict.reason


def test_the_locust_masters_cpu_is_judged_as_locust_warns() -> None:
    assert _master_saturation(96.4) == ("the Locust master (96% of a core)",)
    assert _master_saturation(90.0) == ()
    assert _master_saturation(None) == ()
