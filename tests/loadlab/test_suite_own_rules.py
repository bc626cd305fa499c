"""A suite run as its author wrote it: its own load shape followed, its own thresholds judged.

Each run goes to a tiny server in the test and is a few seconds long; the assertions are on what
the suite declares (its shape, its thresholds), not on how many requests a busy machine made.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from loadlab_process import SUITES, base_env, engine_totals, run_loadlab
from tiny_target import tiny_target

from loadlab.engines.k6 import K6Engine
from loadlab.engines.locust import LocustEngine

STYLES = SUITES / "locust_styles"
STAGES_SHAPE = STYLES / "stages_shape.py"  # 6 s of stages, 10 users at the peak
IMPORTED_SHAPE = STYLES / "imported_shape.py"  # RampShape from shapes.py: 3 s, 2 users at the peak


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("stages_shape", "StagesShape"),
        ("imported_shape", "RampShape"),  # imported from a module beside it, as Locust finds it
        ("plain_functions", None),
        ("markov", None),
    ],
    ids=["defined", "imported", "none", "none-markov"],
)
def test_the_shape_locust_follows_is_the_profile(name: str, shape: str | None) -> None:
    profile = LocustEngine.own_profile(STYLES / f"{name}.py")
    assert profile == (None if shape is None else f"the suite's own LoadTestShape ({shape})")


@pytest.mark.parametrize(
    ("suite", "shape", "peak"),
    [(STAGES_SHAPE, "StagesShape", 10), (IMPORTED_SHAPE, "RampShape", 2)],
    ids=["defined", "imported"],
)
def test_a_locustfile_with_its_own_shape_is_followed(
    tmp_path: Path, suite: Path, shape: str, peak: int
) -> None:
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", "--engine", "locust", "--locustfile", str(suite), "--workers", "1",
             "--host", target.url, "--threshold", "requests > 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
            timeout_s=120,
        )  # fmt: skip
    assert finished.code == 0, finished.stdout + finished.stderr
    summary = finished.summary()
    assert summary["plan"]["profile"] == f"the suite's own LoadTestShape ({shape})"
    assert summary["plan"]["stages"] == []
    assert f"following the suite's own LoadTestShape ({shape})" in finished.stderr
    assert "load set by the suite's own LoadTestShape" in finished.stdout
    assert summary["duration_s"] < 30  # the shape's seconds, not loadlab's 2-minute smoke
    assert 0 < max(p["users"] for p in summary["timeline"]) <= peak  # the shape's peak
    totals = summary["totals"]
    assert (totals["requests"], totals["failures"]) == engine_totals(finished.run_dir(), "locust")
    assert (
        f"LoadTestShape ({shape}), followed as written"
        in (finished.run_dir() / "report.html").read_text()
    )


def test_a_profile_option_with_a_suite_shape_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    finished = run_loadlab(
        ["run", "smoke", "--locustfile", str(STAGES_SHAPE), "--run-time", "20s",
         "--host", "http://127.0.0.1:9"],
        env=base_env(tmp_path),
        results_dir=tmp_path / "results",
    )  # fmt: skip
    assert finished.code == 2
    (line,) = finished.stderr.strip().splitlines()
    assert "--run-time cannot apply: the suite's own LoadTestShape (StagesShape)" in line


def test_a_k6_scripts_own_thresholds_are_in_the_verdict(tmp_path: Path) -> None:
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", "--engine", "k6", "--k6-script", str(SUITES / "thresholds_k6.js"),
             "--users", "1", "--spawn-rate", "1", "--run-time", "2s", "--host", target.url,
             "--threshold", "requests > 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        )  # fmt: skip
    assert finished.code == 1, finished.stdout + finished.stderr
    summary = finished.summary()
    assert summary["extra"]["engine_exit_code"] == 99  # k6's own "a threshold failed"
    judged = {t["expression"]: (t["source"], t["status"]) for t in summary["thresholds"]}
    assert judged == {
        "requests > 0": ("loadlab", "pass"),
        "http_req_duration: max<0": ("k6", "fail"),
        "http_reqs: count>0": ("k6", "pass"),
    }
    measured = {t["expression"]: t["measured"] for t in summary["thresholds"]}
    assert measured["http_reqs: count>0"] == summary["totals"]["requests"]
    assert "http_req_duration: max<0 (k6)" in finished.stdout
    assert "verdict: FAIL (exit 1)" in finished.stdout
    assert "http_req_duration: max&lt;0" in (finished.run_dir() / "junit.xml").read_text()


def test_a_k6_thresholds_value_has_its_unit_and_one_without_samples_says_so(
    tmp_path: Path,
) -> None:
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", "--engine", "k6", "--k6-script",
             str(SUITES / "submetric_thresholds_k6.js"), "--users", "1", "--spawn-rate", "1",
             "--run-time", "2s", "--host", target.url, "--threshold", "requests > 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        )  # fmt: skip
    assert finished.code == 0, finished.stdout + finished.stderr
    judged = {
        t["expression"]: (t["status"], t["unit"], t["measured"] is not None)
        for t in finished.summary()["thresholds"]
        if t["source"] == "k6"
    }
    assert judged == {
        "http_req_duration: p(95)<5000": ("pass", "ms", True),
        "http_req_duration{staticAsset:yes}: p(99)<500": ("pass", "ms", False),  # as k6 judged
        "http_reqs: rate>0": ("pass", "per_s", True),
        "data_received: count>0": ("pass", "bytes", True),
    }
    k6_lines = [line for line in finished.stdout.splitlines() if " (k6) " in line]
    lines = {line.partition(" (k6) ")[0].split(None, 1)[1]: line for line in k6_lines}
    assert lines["http_req_duration: p(95)<5000"].endswith(" ms")
    assert "/s" in lines["http_reqs: rate>0"]
    unsampled = lines["http_req_duration{staticAsset:yes}: p(99)<500"]
    assert "no samples" in unsampled
    assert "no data" not in unsampled
    junit = (finished.run_dir() / "junit.xml").read_text()
    assert "http_req_duration{staticAsset:yes} = no samples, limit &lt; 500 ms" in junit


def test_a_locust_suites_process_exit_code_is_its_verdict_not_an_engine_failure(
    tmp_path: Path,
) -> None:
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", "--engine", "locust", "--locustfile",
             str(SUITES / "exit_code_locustfile.py"), "--workers", "1", "--users", "1",
             "--spawn-rate", "1", "--run-time", "2s", "--host", target.url,
             "--threshold", "requests > 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
            timeout_s=120,
        )  # fmt: skip
    assert finished.code == 1, finished.stdout + finished.stderr
    summary = finished.summary()
    suite = [t for t in summary["thresholds"] if t["source"] == "locust"]
    assert [(t["expression"], t["status"], t["measured"]) for t in suite] == [
        ("environment.process_exit_code == 0", "fail", 3.0)
    ]
    assert "verdict: FAIL (exit 1)" in finished.stdout


def test_a_k6_scripts_own_stages_are_followed_with_its_thresholds(tmp_path: Path) -> None:
    with tiny_target() as target:
        finished = run_loadlab(
            ["run", "smoke", "--engine", "k6", "--k6-script", str(SUITES / "stages_k6.js"),
             "--host", target.url, "--threshold", "requests > 0"],
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
        )  # fmt: skip
    assert finished.code == 0, finished.stdout + finished.stderr
    summary = finished.summary()
    assert summary["plan"]["profile"] == "the script's own options.stages"
    assert "following the script's own options.stages" in finished.stderr
    assert summary["duration_s"] < 30  # the script's 3 s, not the smoke preset's 2 minutes
    assert 0 < max(p["users"] for p in summary["timeline"]) <= 2  # the script's peak
    judged = {t["expression"]: (t["source"], t["status"]) for t in summary["thresholds"]}
    assert judged == {
        "requests > 0": ("loadlab", "pass"),
        "checks: rate>0.99": ("k6", "pass"),
        "http_req_duration: p(95)<5000": ("k6", "pass"),
    }
    assert (summary["totals"]["requests"], 0) == engine_totals(finished.run_dir(), "k6")


def test_the_seeds_k6_script_is_driven_by_the_presets() -> None:
    repo = Path(__file__).parents[2]
    assert K6Engine.own_profile(repo / "load_tests" / "k6_script.js") is None


@pytest.mark.parametrize(
    ("name", "own"),
    [
        ("stages_k6.js", True),
        ("stages_after_thresholds_k6.js", True),
        ("quoted_stages_k6.js", True),
        ("thresholds_k6.js", False),
        ("paced_k6.js", False),
    ],
    ids=["stages", "after-thresholds", "quoted-key", "thresholds-only", "no-options"],
)
def test_a_k6_scripts_own_stages_are_those_k6_reads(name: str, own: bool) -> None:
    expected = "the script's own options.stages" if own else None
    assert K6Engine.own_profile(SUITES / name) == expected


def test_a_k6_script_k6_cannot_load_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    finished = run_loadlab(
        ["run", "smoke", "--engine", "k6", "--k6-script", str(SUITES / "broken_k6.js"),
         "--host", "http://127.0.0.1:9"],
        env=base_env(tmp_path),
        results_dir=tmp_path / "results",
    )  # fmt: skip
    assert finished.code == 2, finished.stdout + finished.stderr
    (line,) = finished.stderr.strip().splitlines()
    assert f"k6 cannot load {SUITES / 'broken_k6.js'}: " in line
    assert "Unexpected token" in line  # k6's own words
    assert not list((tmp_path / "results").glob("*/summary.json"))  # no run was started
