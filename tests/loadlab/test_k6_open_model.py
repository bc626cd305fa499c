"""The k6 engine's open model: the wrapper script as k6 reads it, and what a real run counts.

k6 itself reads each generated wrapper (`k6 inspect --execution-requirements`), so the shares,
rates and VU bounds asserted are the ones k6 would run. Real runs go against the tiny target in
the test, and compare what loadlab counted with k6's own --summary-export, never with a count a
time-boxed run is hoped to reach.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from loadlab_process import K6_SCRIPT, REPO, SUITES
from tiny_target import tiny_target

from loadlab.engines.base import EngineContext, EngineResult, find_binary
from loadlab.engines.k6 import OPEN_MODEL_FILE, SUMMARY_FILE, K6Engine
from loadlab.engines.k6_open_model import k6_stages, open_model_script
from loadlab.histograms import ClientResult, RunStats
from loadlab.plan import Options, RunPlan, resolve_plan
from loadlab.rates import constant_rate, parse_rate_stages
from loadlab.results import RateStage
from loadlab.scenarios import load_config
from loadlab.target import TargetInfo
from process_harness import run
from waiting import wait_for

SEED_SCRIPT = REPO / "load_tests" / "k6_script.js"
PER_TIME_UNIT = 1000  # the wrapper's timeUnit is 1000 s: 1/s is 1000 per time unit
TIME_UNIT = "16m40s"  # 1000 s, as k6 writes it back


def _k6() -> str:
    return find_binary("k6", hint="the test environment installs k6")


def _inspect(script: Path, stages: tuple[RateStage, ...], max_in_flight: int, logs: Path) -> Any:
    """The options k6 reads from the wrapper of `script`."""
    wrapper = logs / OPEN_MODEL_FILE
    wrapper.write_text(open_model_script(script, stages, max_in_flight))
    done = run([_k6(), "inspect", "--execution-requirements", str(wrapper)], logs, timeout_s=60)
    assert done.code == 0, done.explain()
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        pytest.param(constant_rate(20.0, 3.0), [(3000, 20.0)], id="constant"),
        pytest.param(
            parse_rate_stages("1s:10/s,2s:0.5/s"), [(1000, 10.0), (2000, 0.5)], id="ramps"
        ),
        pytest.param(
            (RateStage(1.0, 0.0, 10.0), RateStage(0.25, 5.0, 5.0)),
            [(1000, 10.0), (0, 5.0), (250, 5.0)],
            id="jump-between-stages",
        ),
    ],
)
def test_k6_stages(stages: tuple[RateStage, ...], expected: list[tuple[int, float]]) -> None:
    assert k6_stages(stages) == expected


@pytest.mark.parametrize(
    ("text", "has_default"),
    [
        pytest.param("export default function () {}", True, id="default-function"),
        pytest.param("function run() {}\nexport { run as default };", True, id="as-default"),
        pytest.param("export { default, setup } from './x.js';", True, id="re-exported"),
        pytest.param("export { default as run } from './x.js';", False, id="renamed-away"),
        pytest.param("export function hello() {}\n// the default ...", False, id="none"),
    ],
)
def test_default_is_re_exported_only_when_the_script_has_one(
    tmp_path: Path, text: str, has_default: bool
) -> None:
    script = tmp_path / "suite.js"
    script.write_text(text)
    wrapper = open_model_script(script, constant_rate(1.0, 1.0), 1)
    assert f"export * from {json.dumps(script.resolve().as_uri())};" in wrapper
    assert ("export { default } from" in wrapper) is has_default


def test_a_script_without_scenarios_gets_one_arrival_scenario(tmp_path: Path) -> None:
    options = _inspect(K6_SCRIPT, parse_rate_stages("1s:10/s,2s:0.5/s"), 50, tmp_path)
    assert options["scenarios"] == {
        "open_model": {
            "executor": "ramping-arrival-rate",
            "exec": "default",
            "startTime": None,
            "gracefulStop": None,
            "env": None,
            "tags": None,
            "timeUnit": TIME_UNIT,
            "startRate": 0,
            "stages": [
                {"duration": "1s", "target": 10 * PER_TIME_UNIT},
                {"duration": "2s", "target": PER_TIME_UNIT // 2},  # 0.5/s
            ],
            "preAllocatedVUs": 50,  # five seconds of the peak of 10/s and 2, at most maxVUs
            "maxVUs": 50,
        }
    }
    assert options["maxVUs"] == 50


def test_the_seed_script_shares_the_rate_80_10_10(tmp_path: Path) -> None:
    options = _inspect(SEED_SCRIPT, constant_rate(50.0, 3.0), 500, tmp_path)
    shape = {
        name: (
            s["executor"],
            s["exec"],
            s["timeUnit"],
            s["startRate"],
            s["stages"],
            s["preAllocatedVUs"],
            s["maxVUs"],
        )
        for name, s in options["scenarios"].items()
    }
    per_s = {"platform_user": 40, "admin_user": 5, "heavy_user": 5}
    execs = {"platform_user": "platformUser", "admin_user": "adminUser", "heavy_user": "heavyUser"}
    assert shape == {
        name: (
            "ramping-arrival-rate",
            execs[name],
            TIME_UNIT,
            rate * PER_TIME_UNIT,
            [{"duration": "3s", "target": rate * PER_TIME_UNIT}],
            rate * 5 + 2,  # five seconds of the share's rate, and 2
            rate * 10,  # its share of 500
        )
        for name, rate in per_s.items()
    }
    # The script's own judgement and summary stay; its closed-model load does not.
    assert options["thresholds"]["http_req_duration{kind:api}"] == ["p(95)<500", "p(99)<1000"]
    assert "checks" in options["thresholds"]
    assert options["summaryTrendStats"] == ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max"]
    assert options["maxVUs"] == 500


def test_scenarios_keep_exec_env_and_tags_and_share_by_peak_vus(tmp_path: Path) -> None:
    script = tmp_path / "suite.js"
    script.write_text(
        """
export const options = {
  vus: 9, duration: '1m',
  scenarios: {
    readers: { executor: 'constant-vus', vus: 3, duration: '1s', exec: 'read',
               env: { KIND: 'reader' }, tags: { who: 'reader' }, gracefulStop: '2s' },
    writers: { executor: 'ramping-vus', stages: [{ duration: '1s', target: 1 },
               { duration: '1s', target: 0 }], exec: 'write', gracefulRampDown: '1s' },
  },
  thresholds: { http_req_failed: ['rate<0.01'] },
};
export function read() {}
export function write() {}
"""
    )
    options = _inspect(script, constant_rate(2.0, 1.0), 8, tmp_path)
    readers, writers = options["scenarios"]["readers"], options["scenarios"]["writers"]
    assert (readers["exec"], readers["env"], readers["tags"]) == (
        "read",
        {"KIND": "reader"},
        {"who": "reader"},
    )
    assert readers["gracefulStop"] == "2s"
    assert (writers["exec"], writers["env"], writers["tags"]) == ("write", None, None)
    # Peak VUs 3 and 1: three quarters of 2/s and of 8 in flight, and one quarter.
    assert (readers["startRate"], readers["maxVUs"], readers["preAllocatedVUs"]) == (1500, 6, 6)
    assert (writers["startRate"], writers["maxVUs"], writers["preAllocatedVUs"]) == (500, 2, 2)
    assert (options["vus"], options["duration"]) == (None, None)
    assert options["thresholds"] == {"http_req_failed": ["rate<0.01"]}


def test_setup_teardown_and_handle_summary_still_run(tmp_path: Path) -> None:
    """`export *` carries the script's setup, teardown and handleSummary through the wrapper."""
    script = tmp_path / "suite.js"
    report = tmp_path / "report.json"
    script.write_text(
        """
import { Counter } from 'k6/metrics';
const sawSetup = new Counter('saw_setup');
const tornDown = new Counter('torn_down');
export function setup() { return { word: 'hi' }; }
export default function (data) { if (data.word === 'hi') sawSetup.add(1); }
export function teardown(data) { if (data.word === 'hi') tornDown.add(1); }
export function handleSummary(data) {
  const count = (name) => (data.metrics[name] ? data.metrics[name].values.count : 0);
  return { [__ENV.REPORT]: JSON.stringify({
    iterations: count('iterations'), saw_setup: count('saw_setup'), torn_down: count('torn_down'),
  }) };
}
"""
    )
    wrapper = tmp_path / OPEN_MODEL_FILE
    wrapper.write_text(open_model_script(script, constant_rate(10.0, 1.0), 5))
    command = [_k6(), "run", "--no-usage-report", "-q", "-e", f"REPORT={report}", str(wrapper)]
    done = run(command, tmp_path, timeout_s=90)
    assert done.code == 0, done.explain()
    counts = json.loads(report.read_text())
    assert counts["iterations"] > 0
    assert counts["saw_setup"] == counts["iterations"]
    assert counts["torn_down"] == 1


def _plan(tmp_path: Path, script: Path, host: str, **options: Any) -> RunPlan:
    config = load_config(cwd=tmp_path)
    chosen = Options(engine="k6", scripts={"k6": str(script)}, host=host, **options)
    return replace(resolve_plan(config, "smoke", chosen), results_dir=tmp_path)


def _run_engine(plan: RunPlan, host: str, run_dir: Path) -> tuple[EngineResult, ClientResult]:
    run_dir.mkdir()
    stats = RunStats(time.time())
    target = TargetInfo(base_url=host, embedded=False)
    engine = K6Engine(EngineContext(plan, target, "open-model-test", run_dir, stats))
    engine.start()
    try:
        wait_for(lambda: not engine.poll(), 90, "k6 to finish its run")
    finally:
        engine.stop(force=True)  # nothing to do once k6 has exited
        result = engine.finish()
    return result, stats.finish()


def _k6_counts(run_dir: Path) -> tuple[int, int, int]:
    """k6's own iterations, dropped iterations and requests, from its --summary-export."""
    metrics = json.loads((run_dir / SUMMARY_FILE).read_text())["metrics"]

    def count(name: str) -> int:
        return int(metrics.get(name, {}).get("count", 0))

    return count("iterations"), count("dropped_iterations"), count("http_reqs")


def test_an_open_model_run_counts_what_k6_counts(tmp_path: Path) -> None:
    with tiny_target() as target:
        plan = _plan(tmp_path, K6_SCRIPT, target.url, rate="20/s", run_time="2s")
        assert plan.open_model
        run_dir = tmp_path / "run"
        result, client = _run_engine(plan, target.url, run_dir)
    assert not result.failed, result.message
    iterations, dropped, requests = _k6_counts(run_dir)
    assert iterations > 0
    assert client.arrivals is not None
    assert (client.arrivals.started, client.arrivals.dropped) == (iterations, dropped)
    assert client.totals.requests == requests == result.engine_requests
    # k6 drops what it cannot start at once, so the service time is the whole latency.
    assert client.service is not None
    assert client.service.requests == requests
    assert client.service.p50_ms == client.totals.p50_ms
    assert K6_SCRIPT.resolve().as_uri() in (run_dir / OPEN_MODEL_FILE).read_text()


def test_arrivals_past_max_in_flight_are_dropped_and_counted(tmp_path: Path) -> None:
    """Each iteration of the paced suite takes over a second: two in flight cannot keep 20/s."""
    with tiny_target() as target:
        plan = _plan(
            tmp_path, SUITES / "paced_k6.js", target.url, rate="20/s", run_time="2s",
            max_in_flight=2,
        )  # fmt: skip
        run_dir = tmp_path / "run"
        result, client = _run_engine(plan, target.url, run_dir)
    assert not result.failed, result.message
    iterations, dropped, _ = _k6_counts(run_dir)
    assert client.arrivals is not None
    assert client.arrivals.dropped == dropped
    assert dropped > 0
    assert client.arrivals.started == iterations


def test_a_closed_model_run_counts_no_arrivals(tmp_path: Path) -> None:
    with tiny_target() as target:
        plan = _plan(tmp_path, K6_SCRIPT, target.url, users=1, spawn_rate=1.0, run_time="1s")
        assert not plan.open_model
        run_dir = tmp_path / "run"
        result, client = _run_engine(plan, target.url, run_dir)
    assert not result.failed, result.message
    assert client.totals.requests > 0
    assert (client.arrivals, client.service) == (None, None)
    assert not (run_dir / OPEN_MODEL_FILE).exists()
