"""The configuration: the seed's presets by default, layered with the user's loadlab.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadlab.errors import UsageError
from loadlab.results import Stage
from loadlab.scenarios import load_config


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.parametrize(
    ("name", "users", "spawn_rate", "run_time_s"),
    [("smoke", 5, 1.0, 120.0), ("load", 100, 10.0, 600.0), ("endurance", 100, 10.0, 7200.0)],
    ids=["smoke", "load", "endurance"],
)
def test_seed_presets(
    empty_dir: Path, name: str, users: int, spawn_rate: float, run_time_s: float
) -> None:
    scenario = load_config(cwd=empty_dir).scenario(name)
    assert (scenario.users, scenario.spawn_rate, scenario.run_time_s) == (
        users,
        spawn_rate,
        run_time_s,
    )
    assert scenario.thresholds


@pytest.mark.parametrize(
    ("name", "stages"),
    [
        ("stress", (Stage(120, 200), Stage(300, 200), Stage(120, 0))),
        ("spike", (Stage(30, 20), Stage(60, 200), Stage(30, 20))),
    ],
    ids=["stress", "spike"],
)
def test_seed_staged_presets(empty_dir: Path, name: str, stages: tuple[Stage, ...]) -> None:
    assert load_config(cwd=empty_dir).scenario(name).stages == stages


def test_every_seed_threshold_is_used_somewhere(empty_dir: Path) -> None:
    config = load_config(cwd=empty_dir)
    used = {t for s in config.scenarios.values() for t in s.thresholds}
    for seed in ("p95 < 500ms", "p99 < 1000ms", "error_rate < 0.1%", "throughput > 100/s"):
        assert seed in used
    assert "cpu < 80%" in used
    assert "memory_growth < 100MB/10m" in used
    assert "failures == 0" in config.scenario("smoke").thresholds


def test_local_file_adds_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "loadlab.toml").write_text(
        '[defaults]\nengine = "k6"\n'
        '[scenarios.smoke]\nthresholds = ["p95 < 100ms"]\n'
        '[scenarios.stress]\nusers = 10\nspawn_rate = 2\nrun_time = "30s"\n'
        '[scenarios.nightly]\ndescription = "mine"\nstages = "1m:10,1m:0"\n'
    )
    config = load_config(cwd=tmp_path)
    assert config.engine == "k6"
    assert config.scenario("smoke").thresholds == ("p95 < 100ms",)
    assert config.scenario("smoke").users == 5
    stress = config.scenario("stress")
    assert (stress.stages, stress.users, stress.run_time_s) == ((), 10, 30.0)
    assert config.scenario("nightly").stages == (Stage(60, 10), Stage(60, 0))
    assert config.sources[-1] == str(tmp_path / "loadlab.toml")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[scenarios.a]\nusers = "five"\nspawn_rate = 1\nrun_time = "1m"\n'
        '[scenarios.b]\nstages = "1m:x"\n[scenarios.c]\ncolour = "red"\nstages = "1m:1"\n[extra]\n'
    )
    with pytest.raises(UsageError) as raised:
        load_config(path)
    message = str(raised.value)
    for part in ("scenarios.a.users", "scenarios.b.stages", "scenarios.c.colour", "[extra]"):
        assert part in message


def test_unknown_scenario_lists_the_known(empty_dir: Path) -> None:
    with pytest.raises(UsageError, match="unknown scenario 'nope'") as raised:
        load_config(cwd=empty_dir).scenario("nope")
    assert raised.value.hint is not None
    assert "smoke" in raised.value.hint


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[scenarios\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(UsageError, match="not found"):
        load_config(tmp_path / "missing.toml")
