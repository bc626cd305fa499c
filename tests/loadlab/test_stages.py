"""Stage strings and the load profiles both engines follow."""

from __future__ import annotations

import pytest

from loadlab.errors import UsageError
from loadlab.results import Stage
from loadlab.stages import (
    format_stages,
    judged_window,
    max_ramp_rate,
    parse_stages,
    ramp_and_hold,
    scale_stages,
    steady_window,
    users_at,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2m:200,5m:200,2m:0", ((120, 200), (300, 200), (120, 0)), id="stress"),
        pytest.param("30s:20,1m:200,30s:20", ((30, 20), (60, 200), (30, 20)), id="spike"),
        pytest.param(" 10s : 5 ", ((10, 5),), id="spaces"),
        pytest.param("1500ms:3", ((1.5, 3),), id="milliseconds"),
    ],
)
def test_parse_stages(text: str, expected: tuple[tuple[float, int], ...]) -> None:
    assert parse_stages(text) == tuple(Stage(duration_s=d, target=t) for d, t in expected)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("2m200", "'2m200'", id="missing-colon"),
        pytest.param("2x:10", "'2x:10'", id="bad-duration"),
        pytest.param("2m:ten", "'2m:ten'", id="bad-target"),
        pytest.param("2m:-1", "'2m:-1'", id="negative-target"),
        pytest.param("0s:10", "'0s:10'", id="zero-duration"),
        pytest.param("1m:0,1m:0", "never start", id="no-users"),
        pytest.param("1m:1,x:2,1m:y", r"'x:2' \(bad duration.*'1m:y' \(the target", id="all-named"),
    ],
)
def test_parse_stages_refuses(text: str, named: str) -> None:
    with pytest.raises(UsageError, match=named):
        parse_stages(text)


@pytest.mark.parametrize(
    ("users", "rate", "run_time_s", "expected"),
    [
        pytest.param(5, 1.0, 120.0, ((5.0, 5), (115.0, 5)), id="smoke"),
        pytest.param(100, 10.0, 600.0, ((10.0, 100), (590.0, 100)), id="load"),
        pytest.param(10, 1.0, 4.0, ((4.0, 4),), id="run-ends-during-ramp"),
    ],
)
def test_ramp_and_hold(
    users: int, rate: float, run_time_s: float, expected: tuple[tuple[float, int], ...]
) -> None:
    assert ramp_and_hold(users, rate, run_time_s) == tuple(Stage(d, t) for d, t in expected)


def test_scaling_keeps_the_shape() -> None:
    stress = parse_stages("2m:200,5m:200,2m:0")
    scaled = scale_stages(stress, peak=10, total_s=9.0)
    assert scaled == (Stage(2.0, 10), Stage(5.0, 10), Stage(2.0, 0))


@pytest.mark.parametrize(
    ("elapsed_s", "users"),
    [(0.0, 0.0), (60.0, 100.0), (120.0, 200.0), (400.0, 200.0), (480.0, 100.0), (540.0, None)],
    ids=["start", "mid-ramp", "top", "hold", "mid-ramp-down", "after-end"],
)
def test_users_at_is_linear_like_k6(elapsed_s: float, users: float | None) -> None:
    assert users_at(parse_stages("2m:200,5m:200,2m:0"), elapsed_s) == users


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("2m:200,5m:200,2m:0", (120.0, 420.0)),
        ("30s:20,1m:200,30s:20", (0.0, 120.0)),
        ("10s:100,590s:100", (10.0, 600.0)),
    ],
    ids=["stress-hold", "spike-has-no-hold", "load"],
)
def test_steady_window(text: str, window: tuple[float, float]) -> None:
    assert steady_window(parse_stages(text)) == window


def test_format_round_trips_and_rate() -> None:
    stages = parse_stages("2m:200,5m:200,2m:0")
    assert parse_stages(format_stages(stages)) == stages
    assert max_ramp_rate(stages) == pytest.approx(200 / 120)
    short = (Stage(0.0002, 1), Stage(1e-7, 3), Stage(1 / 3, 2), Stage(60.0, 0))
    assert parse_stages(format_stages(short, exact=True)) == short  # the Locust plugin's


@pytest.mark.parametrize(
    ("text", "load", "window"),
    [
        ("5s:5,55s:5", (2.0, 63.0), (7.0, 62.0)),
        ("5s:5,55s:5", (2.0, 9.0), (7.0, 9.0)),
        ("5s:5,55s:5", (2.0, 6.0), (2.0, 6.0)),
        ("30s:20,1m:200,30s:20", (1.0, 121.0), (1.0, 121.0)),
        ("30s:20,1m:200,30s:20", (1.0, 50.0), (1.0, 50.0)),
    ],
    ids=["whole-run", "stopped-in-hold", "stopped-before-hold", "no-hold", "no-hold-stopped"],
)
def test_judged_window_never_reaches_past_the_load(
    text: str, load: tuple[float, float], window: tuple[float, float]
) -> None:
    assert judged_window(parse_stages(text), *load) == window
