"""Resolving a scenario and the user's options into one validated plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadlab.errors import UsageError
from loadlab.plan import Options, RunPlan, resolve_plan
from loadlab.results import Stage
from loadlab.scenarios import load_config

SUITES = Path(__file__).parent / "suites"
LOCUSTFILE = str(SUITES / "health_locustfile.py")
K6_SCRIPT = str(SUITES / "health_k6.js")


def _plan(scenario: str, tmp_path: Path, **options: object) -> RunPlan:
    config = load_config(cwd=tmp_path)
    defaults: dict[str, object] = {"scripts": {"locust": LOCUSTFILE}}
    if options.get("engine") == "k6":
        defaults = {"scripts": {"k6": K6_SCRIPT}}
    return resolve_plan(config, scenario, Options(**{**defaults, **options}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("scenario", "options", "stages", "spawn_rate"),
    [
        pytest.param("smoke", {}, ((5.0, 5), (115.0, 5)), 1.0, id="smoke-as-seeded"),
        pytest.param(
            "smoke",
            {"users": 2, "spawn_rate": 2.0, "run_time": "3s"},
            ((1.0, 2), (2.0, 2)),
            2.0,
            id="smoke-shortened",
        ),
        pytest.param(
            "stress",
            {"users": 10, "run_time": "9s"},
            ((2.0, 10), (5.0, 10), (2.0, 0)),
            5.0,
            id="stress-scaled",
        ),
        pytest.param(
            "load", {"stages": "1s:3,2s:3"}, ((1.0, 3), (2.0, 3)), 3.0, id="explicit-stages"
        ),
    ],
)
def test_profiles(
    tmp_path: Path,
    scenario: str,
    options: dict[str, object],
    stages: tuple[tuple[float, int], ...],
    spawn_rate: float,
) -> None:
    plan = _plan(scenario, tmp_path, **options)
    assert plan.stages == tuple(Stage(d, t) for d, t in stages)
    assert plan.spawn_rate == pytest.approx(spawn_rate)
    assert plan.users == max(t for _, t in stages)


def test_plan_carries_options(tmp_path: Path) -> None:
    plan = _plan(
        "smoke",
        tmp_path,
        engine="k6",
        host="http://127.0.0.1:9/",
        tags="read, write",
        exclude_tags="heavy",
        thresholds=("p95 < 1s",),
    )
    assert (plan.engine, plan.host, plan.workers) == ("k6", "http://127.0.0.1:9", 1)
    assert (plan.tags, plan.exclude_tags) == (("read", "write"), ("heavy",))
    assert [t.expression for t in plan.thresholds] == ["p95 < 1s"]
    assert Path(plan.info().script).resolve() == Path(K6_SCRIPT)
    assert plan.script.is_absolute()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"engine": "jmeter"}, "unknown engine 'jmeter'", id="unknown-engine"),
        pytest.param({"stages": "1m"}, "bad stage", id="bad-stages"),
        pytest.param({"stages": "1m:1", "users": 3}, "cannot be combined", id="stages-and-users"),
        pytest.param({"run_time": "soon"}, "--run-time", id="bad-run-time"),
        pytest.param({"users": 0}, "--users must be positive", id="zero-users"),
        pytest.param({"host": "localhost:8000"}, "not a base URL", id="host-without-scheme"),
        pytest.param({"thresholds": ("p97 < 1s",)}, "unknown threshold metric", id="bad-threshold"),
        pytest.param({"scripts": {"locust": "/nonexistent.py"}}, "not found", id="missing-suite"),
        pytest.param(
            {"scripts": {"locust": LOCUSTFILE, "k6": K6_SCRIPT}},
            "is for --engine k6",
            id="k6-script-on-locust",
        ),
    ],
)
def test_refuses(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _plan("smoke", tmp_path, **options)


def test_every_problem_at_once(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        _plan("smoke", tmp_path, engine="jmeter", host="nope", thresholds=("p97 < 1s",))
    message = str(raised.value)
    assert "jmeter" in message
    assert "nope" in message
    assert "p97" in message


def test_spawn_rate_on_staged_scenario_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="its ramps come from its stages"):
        _plan("spike", tmp_path, spawn_rate=5.0)
