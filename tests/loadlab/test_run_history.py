"""`loadlab run` end to end with a history: the second run is compared with the first, on both
engines and both history databases. Short runs: their verdicts are what too little data gives
(inconclusive, which never changes the exit code), whatever the machine's speed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from loadlab_process import base_env, run_loadlab, suite_args

from loadlab import history
from loadlab.target import cache_dir as cache_root
from loadlab.target import seeded_database
from platform_server import postgres_database

SHORT = ["--users", "2", "--spawn-rate", "2", "--run-time", "2s", "--threshold", "failures == 0"]


@pytest.fixture(scope="module")
def cache_dir() -> Path:
    seeded_database("small")
    return cache_root()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared' / 'history.sqlite'}"
        return
    with postgres_database() as url:
        yield url


@pytest.mark.parametrize("engine", ["locust", "k6"])
def test_the_second_run_is_compared_with_the_first(
    engine: str, history_url: str, cache_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "loadlab.toml"
    config.write_text('[history]\nregressions = ["p95 +10%", "throughput -5%"]\n')
    args = ["run", "smoke", *suite_args(engine), *SHORT, "--config", str(config)]
    args += ["--history-url", history_url, "--label", "purpose=test"]
    first = run_loadlab(args, env=base_env(cache_dir), results_dir=tmp_path / "first")
    assert first.code == 0, first.stdout + first.stderr
    assert "comparison" not in first.summary() or first.summary()["comparison"] is None
    second = run_loadlab(args, env=base_env(cache_dir), results_dir=tmp_path / "second")
    summary = second.summary()  # schema-checked
    assert second.code == summary["verdict"]["exit_code"], second.stderr
    comparison = summary["comparison"]
    assert comparison["baseline_runs"] == [first.summary()["run_id"]]
    assert comparison["baseline_kind"] == "default"
    assert comparison["differences"] == []
    totals = [c for c in comparison["changes"] if c["endpoint"] is None]
    assert [c["limit"] for c in totals] == ["p95 +10%", "throughput -5%"]
    # Two seconds of load are too few to judge: inconclusive, and the run still passes.
    assert {c["verdict"] for c in totals} == {"inconclusive"}
    assert second.code == 0, second.stdout
    assert "baseline (the last passing runs alike)" in second.stdout
    assert summary["labels"]["purpose"] == "test"
    assert len(summary["labels"]["git_commit"]) == 40
    assert set(summary["histograms"]) >= {"*", "GET /health"}
    recorded = history.read(tmp_path / "unused", history_url)
    assert [e.run_id for e in recorded][-2:] == [
        first.summary()["run_id"],
        summary["run_id"],
    ]
