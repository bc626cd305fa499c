"""The capacity search's arithmetic, its answer and exit code, and its options.

The search itself is pure: given what each rate's step measured, which rate it tries next and what
it concludes. Here a step is a function of the rate (a target that holds below its capacity); the
end-to-end runs against real targets are in test_open_model.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from loadlab_process import loadlab_command

from loadlab.capacity import SearchSettings, Step, conclude, search
from loadlab.errors import EXIT_INCONCLUSIVE, EXIT_THRESHOLD_FAILED

REPO = Path(__file__).resolve().parents[2]


def step(rate: float, *, held: bool, saturated: bool = False) -> Step:
    return Step(
        rate_per_s=rate,
        held=held,
        exit_code=0 if held else EXIT_THRESHOLD_FAILED,
        run_id=f"step-{rate:g}",
        sent_per_s=rate,
        throughput_per_s=rate,
        p50_ms=10.0,
        p95_ms=50.0 if held else 900.0,
        p99_ms=80.0 if held else 1500.0,
        service_p99_ms=80.0,
        error_rate=0.0,
        dropped=0,
        generator_saturated=saturated,
        failed=() if held else ("p99 < 1000ms (p99 1.5 s)",),
    )


def target(capacity: float, *, saturates_at: float | None = None):  # type: ignore[no-untyped-def]
    def run(rate: float) -> Step:
        saturated = saturates_at is not None and rate >= saturates_at
        return step(rate, held=rate <= capacity, saturated=saturated)

    return run


def test_rises_then_narrows_to_the_resolution() -> None:
    settings = SearchSettings(start_per_s=10, factor=1.5, resolution=0.05)
    steps = search(settings, target(187))
    rates = [s.rate_per_s for s in steps]
    assert rates[:6] == [10, 15, 23, 35, 53, 80]  # x1.5, two significant digits
    result = conclude("stress-open", "locust", "http://t", settings, steps)
    assert result.ending == "limit"
    assert result.capacity_per_s is not None
    assert result.failed_at_per_s is not None
    assert result.capacity_per_s <= 187 < result.failed_at_per_s
    assert (result.failed_at_per_s - result.capacity_per_s) / result.capacity_per_s <= 0.05
    assert result.line.startswith(f"capacity: {result.capacity_per_s:g}/s: p99 < 1000ms holds up")
    assert f"fails at {result.failed_at_per_s:g}/s (p99 1.5 s)" in result.line
    assert result.exit_code == 0


def test_a_saturated_generator_is_the_answer_not_a_capacity() -> None:
    settings = SearchSettings(start_per_s=10, min_capacity_per_s=100)
    steps = search(settings, target(500, saturates_at=30))
    assert steps[-1].generator_saturated
    result = conclude("s", "locust", "h", settings, steps)
    assert result.ending == "saturated"
    # The step at 35/s held although the generator saturated: the target holds at least that.
    assert result.line.startswith("capacity: at least 35/s: the load generator saturated at 35/s")
    assert result.exit_code == EXIT_INCONCLUSIVE


def test_min_capacity_sets_the_exit_code() -> None:
    settings = SearchSettings(start_per_s=10, min_capacity_per_s=150)
    result = conclude("s", "k6", "h", settings, search(settings, target(100)))
    assert result.exit_code == EXIT_THRESHOLD_FAILED
    assert result.line.endswith("--min-capacity 150/s not met")


def test_the_ceiling_holding_and_a_start_that_fails() -> None:
    settings = SearchSettings(start_per_s=10, max_per_s=40)
    ceiling = conclude("s", "k6", "h", settings, search(settings, target(1000)))
    assert ceiling.ending == "ceiling"
    assert ceiling.line == "capacity: above 40/s: every threshold holds up to the ceiling"
    low = search(SearchSettings(start_per_s=10), target(3))
    assert [s.rate_per_s for s in low][:3] == [10, 5, 2.5]  # halved until one holds
    result = conclude("s", "k6", "h", SearchSettings(start_per_s=10), low)
    assert result.ending == "limit"
    assert result.capacity_per_s is not None
    assert result.capacity_per_s <= 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--step", "1"], "--step 1 must be above 1"),
        (["--resolution", "0"], "--resolution 0 must be a percentage"),
        (["--start-rate", "fast"], "--start-rate: bad rate"),
        (["--max-rate", "5/s"], "--max-rate must not be below --start-rate"),
        (["--step-time", "1s"], "--step-time must be at least 2s"),
        (["--rate", "5/s"], "No such option '--rate'"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(options: list[str], message: str) -> None:
    done = subprocess.run(
        [*loadlab_command(), "capacity", *options],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_the_stress_scenario_has_an_open_model_twin() -> None:
    done = subprocess.run(
        [*loadlab_command(), "scenarios"], capture_output=True, text=True, cwd=REPO, check=True
    )
    [twin] = [line for line in done.stdout.splitlines() if line.startswith("stress-open ")]
    assert "arrivals 2m:100/s,5m:100/s,2m:0/s" in twin
    assert any(line.startswith("stress ") for line in done.stdout.splitlines())
