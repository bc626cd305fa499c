"""`loadlab run` against a target the test controls: verdicts that follow from what was measured.

The target is a tiny server in this process and the suite sends at most one request per user per
second, so "too few requests" holds however fast or busy the machine is.
"""

from __future__ import annotations

from pathlib import Path

from loadlab_process import SUITES, base_env, engine_totals, run_loadlab
from tiny_target import tiny_target

PACED_K6 = SUITES / "paced_k6.js"
SHORT = ["--engine", "k6", "--k6-script", str(PACED_K6), "--users", "1", "--spawn-rate", "1",
         "--run-time", "2s"]  # fmt: skip


def test_a_short_smoke_run_is_inconclusive_not_failed(tmp_path: Path) -> None:
    """Fewer than 100 requests cannot support p99: exit 5, with how much longer the run needed;
    cpu cannot be measured on this host (no pid, no process_* series): not measured, said first."""
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", *SHORT, "--host", target.url],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        )
    assert finished.code == 5, finished.stdout + finished.stderr
    summary = finished.summary()
    statuses = {t["expression"]: t["status"] for t in summary["thresholds"]}
    assert statuses == {
        "p95 < 500ms": "inconclusive",
        "p99 < 1000ms": "inconclusive",
        "failures == 0": "pass",
        "cpu < 80%": "not_measured",
    }
    assert summary["totals"]["requests"] < 20  # paced: at most one request per second
    assert (summary["totals"]["requests"], 0) == engine_totals(finished.run_dir(), "k6")
    assert summary["verdict"] == {**summary["verdict"], "exit_code": 5, "passed": False}
    assert "1 threshold not measured: cpu < 80%" in summary["verdict"]["reason"]
    lines = finished.stdout.splitlines()
    p99 = next(line for line in lines if "p99 < 1000ms" in line)
    assert p99.startswith("INCONCLUSIVE")
    assert "p99 needs at least 100" in p99
    assert "longer at" in p99  # how much longer, at the measured rate
    assert any(line.startswith("NOT MEASURED") and "cpu < 80%" in line for line in lines)
    assert any(line.startswith("verdict: INCONCLUSIVE (exit 5)") for line in lines)
    announced = [
        line for line in finished.stderr.splitlines() if line.startswith("loadlab: not measured")
    ]
    assert len(announced) == 1
    assert "cpu < 80%" in announced[0]
    # The notice said this target lacks those sources: the monitor does not say it again.
    assert finished.stderr.splitlines() == announced, finished.stderr
    junit = (finished.run_dir() / "junit.xml").read_text()
    assert "<skipped" in junit
    assert "NOT MEASURED" in (finished.run_dir() / "report.html").read_text()


def test_an_explicit_threshold_without_a_source_is_no_data_and_fails(tmp_path: Path) -> None:
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", *SHORT, "--host", target.url, "--threshold", "cpu < 80%",
             "--threshold", "requests > 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        )  # fmt: skip
    assert finished.code == 1, finished.stdout + finished.stderr
    cpu, requests = finished.summary()["thresholds"]
    assert (cpu["status"], requests["status"]) == ("no_data", "pass")
    assert "not measured on this target" not in finished.stderr
    assert "verdict: FAIL (exit 1)" in finished.stdout
    # No notice said so: the monitor's warnings, once each, through the run's terminal output.
    warned = [line for line in finished.stderr.splitlines() if "warning: monitor" in line]
    assert [line.split(":")[2].strip() for line in warned] == ["monitor (app)", "monitor (system)"]
    assert all(line.startswith("loadlab: warning: monitor") for line in warned)


def test_a_loadlab_toml_threshold_without_a_source_is_no_data_and_fails(tmp_path: Path) -> None:
    """Thresholds written in loadlab.toml are the user's, as --threshold's are: a cpu limit this
    run cannot measure (a remote host, no pid, no process_* series) is no data and fails, while a
    table that keeps the preset's thresholds leaves it not measured."""
    own, kept = tmp_path / "own.toml", tmp_path / "kept.toml"
    own.write_text('[scenarios.smoke]\nthresholds = ["cpu < 80%", "requests > 0"]\n')
    kept.write_text('[scenarios.smoke]\ndescription = "the preset\'s thresholds"\n')
    statuses: dict[str, tuple[int, dict[str, str], bool]] = {}
    with tiny_target() as target:
        for config in (own, kept):
            finished = run_loadlab(
                ["run", "smoke", *SHORT, "--host", target.url, "--config", str(config)],
                env=base_env(tmp_path),
                results_dir=tmp_path / config.stem,
            )
            statuses[config.stem] = (
                finished.code,
                {t["expression"]: t["status"] for t in finished.summary()["thresholds"]},
                "not measured on this target" in finished.stderr,
            )
    assert statuses["own"] == (1, {"cpu < 80%": "no_data", "requests > 0": "pass"}, False)
    code, kept_statuses, announced = statuses["kept"]
    assert (kept_statuses["cpu < 80%"], announced) == ("not_measured", True)
    assert code == 5  # the preset's p99 on a few requests: inconclusive, never failed by cpu
