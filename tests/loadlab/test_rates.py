"""Open-model arithmetic and plans: rates parsed, arrivals counted, profiles resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadlab.errors import UsageError
from loadlab.plan import SENT_AS_ASKED, Options, RunPlan, resolve_plan
from loadlab.rates import (
    constant_rate,
    due_s,
    parse_rate_stages,
    planned_arrivals,
    rate_at,
)
from loadlab.results import RateStage
from loadlab.scenarios import load_config

LOCUSTFILE = str(Path(__file__).parent / "suites" / "health_locustfile.py")


def _plan(scenario: str, tmp_path: Path, **options: object) -> RunPlan:
    config = load_config(cwd=tmp_path)
    return resolve_plan(config, scenario, Options(scripts={"locust": LOCUSTFILE}, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stages", "planned"),
    [
        pytest.param(constant_rate(20, 3), 59, id="20/s-for-3s"),
        pytest.param(constant_rate(0.5, 10), 4, id="slower-than-one-a-second"),
        pytest.param(parse_rate_stages("2s:10/s"), 9, id="ramp-0-to-10"),
        pytest.param(parse_rate_stages("1s:10/s,2s:10/s,1s:0/s"), 29, id="up-hold-down"),
    ],
)
def test_due_times_rise_and_count_the_planned_arrivals(
    stages: tuple[RateStage, ...], planned: int
) -> None:
    times: list[float] = []
    while (due := due_s(stages, len(times))) is not None:
        times.append(due)
    assert len(times) == planned == planned_arrivals(stages)
    assert times == sorted(times)
    assert times[-1] < sum(s.duration_s for s in stages)


def test_a_constant_rate_is_evenly_spaced_from_one_interval_in() -> None:
    stages = constant_rate(20, 3)
    assert [round(due_s(stages, k) or 0, 6) for k in (0, 1, 58)] == [0.05, 0.1, 2.95]
    assert due_s(stages, 59) is None  # due exactly at the end: not made, as k6 counts


def test_rate_stages_ramp_from_the_previous_rate() -> None:
    stages = parse_rate_stages("1m:10/s,5m:100/s,1m:0/s")
    assert [(s.from_per_s, s.to_per_s) for s in stages] == [(0, 10), (10, 100), (100, 0)]
    assert rate_at(stages, 30) == pytest.approx(5)
    assert rate_at(stages, 7 * 60) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty rate stages"),
        ("1m", "missing ':'"),
        ("1m:fast", "bad rate"),
        ("0s:10/s", "the duration must be positive"),
        ("1m:0/s", "never send a request"),
    ],
)
def test_bad_rate_stages_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_rate_stages(text)


def test_rate_makes_an_open_model_plan_judged_on_what_it_sent(tmp_path: Path) -> None:
    plan = _plan("smoke", tmp_path, rate="50/s", run_time="30s")
    assert plan.open_model
    assert (plan.stages, plan.users, plan.run_time_s) == ((), 0, 30.0)
    assert plan.rate_stages == constant_rate(50, 30)
    assert plan.max_in_flight == 500  # ten seconds of the peak rate
    assert plan.thresholds[-1].expression == SENT_AS_ASKED
    assert plan.info().profile == "arrival rate"


def test_a_rate_takes_a_staged_scenarios_length_and_the_twin_is_open(tmp_path: Path) -> None:
    assert _plan("stress", tmp_path, rate="5/s").run_time_s == 540.0
    twin = _plan("stress-open", tmp_path)
    assert twin.open_model
    assert twin.rate_stages == parse_rate_stages("2m:100/s,5m:100/s,2m:0/s")
    assert [t.expression for t in twin.thresholds].count(SENT_AS_ASKED) == 1
    shortened = _plan("stress-open", tmp_path, run_time="9s")
    assert [s.duration_s for s in shortened.rate_stages] == [2.0, 5.0, 2.0]


def test_a_scenario_can_give_a_rate_in_loadlab_toml(tmp_path: Path) -> None:
    (tmp_path / "loadlab.toml").write_text(
        '[scenarios.smoke]\nrate = "5/s"\nrun_time = "10s"\n'
        '[scenarios.steady]\nrate_stages = "5s:2/s,5s:2/s"\n'
    )
    smoke = _plan("smoke", tmp_path)
    assert (smoke.rate_stages, smoke.stages) == (constant_rate(5, 10), ())
    assert _plan("steady", tmp_path).run_time_s == 10.0
    assert not _plan("smoke", tmp_path, users=2).open_model  # users given: the closed model


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"rate": "5/s", "users": 3}, "--users set users", id="rate-and-users"),
        pytest.param({"rate": "5/s", "rate_stages": "1s:1/s"}, "not both", id="both-rates"),
        pytest.param(
            {"rate_stages": "1s:1/s", "run_time": "5s"}, "omit --run-time", id="stages-and-time"
        ),
        pytest.param({"rate": "0/s", "run_time": "5s"}, "must be above 0", id="zero-rate"),
        pytest.param({"rate": "fast", "run_time": "5s"}, "--rate: bad rate", id="bad-rate"),
        pytest.param({"max_in_flight": 5}, "is for an arrival rate", id="pool-without-rate"),
        pytest.param(
            {"rate": "5/s", "run_time": "5s", "max_in_flight": 0}, "between 1", id="empty-pool"
        ),
    ],
)
def test_open_model_options_are_checked_before_anything_starts(
    options: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match=message):
        _plan("smoke", tmp_path, **options)


def test_a_new_run_time_alone_keeps_a_scenario_of_users(tmp_path: Path) -> None:
    """The profile kinds' layering: `run_time` names no kind, so smoke keeps its users."""
    (tmp_path / "loadlab.toml").write_text('[scenarios.smoke]\nrun_time = "30s"\n')
    smoke = load_config(cwd=tmp_path).scenario("smoke")
    assert (smoke.users, smoke.spawn_rate, smoke.run_time_s, smoke.rate) == (5, 1.0, 30.0, None)
