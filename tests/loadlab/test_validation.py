"""One check before anything starts: every problem named at once, with upper bounds, and bad files
(loadlab.toml, history.jsonl) as one line and exit 2, never an internal error."""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest
from loadlab_process import REPO, SUITES, base_env, loadlab_command, run_loadlab, suite_args
from tiny_target import tiny_target

from loadlab.engines import ENGINES
from loadlab.errors import UsageError
from loadlab.monitor.config import MonitorConfig
from loadlab.plan import Options, resolve_plan
from loadlab.scenarios import load_config

LOCUSTFILE = str(SUITES / "health_locustfile.py")


def _problems(tmp_path: Path, **options: object) -> str:
    config = load_config(cwd=tmp_path)
    with pytest.raises(UsageError) as raised:
        resolve_plan(config, "smoke", Options(scripts={"locust": LOCUSTFILE}, **options))  # type: ignore[arg-type]
    return str(raised.value)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param({"workers": 100_000}, "--workers 100000 must be between 1 and", id="workers"),
        pytest.param({"users": 10**11}, "at most 100,000", id="users"),
        pytest.param({"stages": "1s:100000000000"}, "at most 100,000", id="stage-users"),
        pytest.param({"run_time": "9999999h"}, "longer than 744h", id="run-time"),
        pytest.param(
            {"engine": "k6", "stages": "0.0001s:5,1m:5"}, "shorter than 1ms", id="k6-stage"
        ),
        pytest.param({"thresholds": ("error_rate < 200%",)}, "cannot be above 100%", id="share"),
        pytest.param(
            {"thresholds": ("server_error_rate_max < 101%",)}, "above 100%", id="share-max"
        ),
        pytest.param({"db_url": "sqlite:///x.db"}, "must be a postgresql:// URL", id="db-url"),
        pytest.param({"sample_interval": 100.0}, "between 0.05 and 60", id="interval"),
        pytest.param({"engine": "k6", "workers": 4}, "--workers is for --engine locust", id="k6"),
    ],
)
def test_a_bound_is_checked_before_anything_starts(
    options: dict[str, object], named: str, tmp_path: Path
) -> None:
    assert named in _problems(tmp_path, **options)


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    text = _problems(
        tmp_path,
        workers=100_000,
        users=10**11,
        thresholds=("error_rate < 200%",),
        db_url="mysql://x",
        sample_interval=0.0,
    )
    for named in ("--workers", "100,000", "error_rate", "--db-url", "--sample-interval"):
        assert named in text


def test_a_sub_millisecond_stage_is_refused_for_k6_only(tmp_path: Path) -> None:
    """One user at 5000/s ramps in 0.2 ms: a stage k6 cannot take, and Locust follows (the
    plugin is given the stages' exact seconds)."""
    fast = ["--users", "1", "--spawn-rate", "5000", "--run-time", "2s"]
    with tiny_target() as target:
        refused = run_loadlab(
            ["run", "smoke", *suite_args("k6"), *fast, "--host", target.url],
            env=base_env(tmp_path), results_dir=tmp_path / "k6",
        )  # fmt: skip
        followed = run_loadlab(
            ["run", "smoke", *suite_args("locust"), *fast, "--host", target.url,
             "--threshold", "requests > 0"],
            env=base_env(tmp_path), results_dir=tmp_path / "locust",
        )  # fmt: skip
    assert refused.code == 2, refused.stderr
    assert "k6 cannot represent" in refused.stderr
    assert followed.code == 0, followed.stdout + followed.stderr
    summary = followed.summary()
    assert summary["plan"]["stages"][0]["duration_s"] == 0.0002
    assert summary["totals"]["requests"] > 0


def test_the_plan_and_the_monitor_apply_the_same_rules() -> None:
    """A --db-url the plan refuses, the monitor refuses in the same words, and the other way."""
    for url, accepted in (("sqlite:///x.db", False), ("postgresql://u@h/db", True)):
        monitor = MonitorConfig("http://127.0.0.1:1", None, db_url=url).problems()
        assert (monitor == []) is accepted
        if not accepted:
            assert monitor[0] in _problems(Path("/nonexistent"), host="http://h:1", db_url=url)


def engine_words(text: str) -> list[str]:
    """Where a module's code names an engine: its name or one of its suite's option and setting
    names as a string, "--engine NAME" inside one, a setting as an identifier (an `Options`
    field, an attribute, a keyword), or an engine's own module imported. cli.py's `worker` is
    Locust's by nature (it runs `locust --worker`) and is left out."""
    tree = ast.parse(text)
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "worker"
        for inner in ast.walk(node)
    }
    return [
        f"line {getattr(node, 'lineno', '?')}: {word}"
        for node in ast.walk(tree)
        if id(node) not in skipped and (word := _engine_word(node))
    ]


def _engine_word(node: ast.AST) -> str | None:
    names = set(ENGINES)
    settings = {engine.script_setting for engine in ENGINES.values()}
    options = {engine.script_option for engine in ENGINES.values()}
    options |= {e.script_short_option for e in ENGINES.values() if e.script_short_option}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        named = node.value in names | settings | options
        chosen = any(f"--engine {name}" in node.value for name in names)
        return repr(node.value) if named or chosen else None
    identifier = (
        (isinstance(node, ast.Name) and node.id)
        or (isinstance(node, ast.Attribute) and node.attr)
        or (isinstance(node, ast.keyword | ast.arg) and node.arg)
    )
    if identifier in settings:
        return str(identifier)
    module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
    own = module.startswith("loadlab.engines.") and module != "loadlab.engines.base"
    return f"from {module} import" if own else None


@pytest.mark.parametrize(
    "module", ["plan.py", "runner.py", "scenarios.py", "cli.py", "generators.py"]
)
def test_plan_and_runner_name_no_engine(module: str) -> None:
    """Engines own their rules: a third engine would touch only engines/. The words of help
    texts and docstrings are not code; k8s_manifests.py writes each operator's own manifests."""
    text = (Path(__file__).parents[2] / "src" / "loadlab" / module).read_text()
    assert engine_words(text) == []


def _loadlab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    return subprocess.run(
        [*loadlab_command(), *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=cwd, env=env,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "named"),
    [
        pytest.param(b'[defaults]\nengine = "k6\xff"\n', "is not UTF-8", id="invalid-utf8"),
        pytest.param(b"defaults = 1\n", "defaults must be a table", id="defaults-not-a-table"),
        pytest.param(b'scenarios = "x"\n', "scenarios must be tables", id="scenarios-string"),
        pytest.param(b"[scenarios]\nsmoke = 3\n", "scenarios.smoke must be a table", id="scalar"),
    ],
)
def test_a_malformed_loadlab_toml_is_exit_2_in_one_line(
    content: bytes, named: str, tmp_path: Path
) -> None:
    (tmp_path / "loadlab.toml").write_bytes(content)
    for command in (["scenarios"], ["run", "smoke", "-f", LOCUSTFILE]):
        result = _loadlab(*command, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert named in lines[0]
        assert "internal error" not in lines[0]


@pytest.mark.parametrize(
    ("toml", "args", "named"),
    [
        pytest.param(
            None,
            ["run", "smoke", "--workers", "100000", "--influxdb", "ftp://x", "--label", "bad",
             "--threshold", "error_rate < 200%"],
            ["--influxdb 'ftp://x'", "--workers 100000", "bad label 'bad'", "above 100%"],
            id="options-of-every-source",
        ),
        pytest.param(
            "[scenarios.smoke]\nuserz = 3\n",
            ["run", "smoke", "--workers", "100000"],
            ["unknown key scenarios.smoke.userz", "--workers 100000"],
            id="toml-key-and-plan",
        ),
        pytest.param(
            None,
            ["run", "smoke", "--users", "0", "--history-url", "mysql://x"],
            ["--users must be positive", "history URL 'mysql://x'"],
            id="plan-and-history-database",
        ),
        pytest.param(
            "[history]\nbaseline_runs = 0\n",
            ["run", "smoke", "--users", "0", "--label", "bad"],
            ["--users must be positive", "history.baseline_runs", "bad label 'bad'"],
            id="plan-and-history-table",
        ),
        pytest.param(
            '[scenarios.smoke]\nusers = "x"\n',
            ["run", "smoke", "--workers", "100000", "--label", "bad"],
            ["scenarios.smoke.users must be", "'smoke' and the options of its plan are checked "
             "once the configuration is fixed", "bad label 'bad'"],
            id="plan-waits-for-its-scenario",
        ),
        pytest.param(
            "not toml [",
            ["run", "smoke", "--label", "bad", "--influxdb", "ftp://x"],
            ["is not valid TOML", "checked once the configuration is fixed", "bad label 'bad'",
             "--influxdb 'ftp://x'"],
            id="plan-waits-for-the-file",
        ),
        pytest.param(
            "[defaults]\nengin = 3\n",
            ["capacity", "--step", "1", "--max-rate", "200000/s", "--workers", "100000"],
            ["unknown key defaults.engin", "--step 1 must be above 1", "--max-rate is above",
             "--workers 100000"],
            id="capacity",
        ),
        pytest.param(
            None,
            ["k8s", "smoke", "--workers", "0", "--host", "http://127.0.0.1:1", "--users", "0"],
            ["--workers 0 must be at least 1", "--users must be positive"],
            id="k8s",
        ),
    ],
)  # fmt: skip
def test_every_source_is_checked_in_one_pass(
    toml: str | None, args: list[str], named: list[str], tmp_path: Path
) -> None:
    """The options, loadlab.toml, the plan, [history] and its database, --influxdb: one error
    naming every problem, before anything starts; a check that needs a refused one says so."""
    if toml is not None:
        (tmp_path / "loadlab.toml").write_text(toml)
    result = _loadlab(*args, "-f", LOCUSTFILE, "--results-dir", "results", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for problem in named:
        assert problem in lines[0]
    assert not [p for p in tmp_path.glob("results/*") if p.is_dir()]  # no run was started


_ENTRY = {
    "run_id": "r1", "scenario": "smoke", "engine": "k6", "started_at": "2026-12-01T00:00:00Z",
    "requests": 10, "rps": 1.0, "p95_ms": 5.0, "error_rate_percent": 0.0, "exit_code": 0,
    "reason": "ok", "run_dir": "r1",
}  # fmt: skip


@pytest.mark.parametrize(
    ("line", "named"),
    [
        pytest.param(b"not json", "line 2 is damaged", id="not-json"),
        pytest.param(b"[1, 2]", "not a JSON object", id="not-an-object"),
        pytest.param(json.dumps({**_ENTRY, "requests": "x"}).encode(), "requests", id="type"),
        pytest.param(json.dumps({"run_id": "r"}).encode(), "missing", id="missing-keys"),
        pytest.param(b"\xff\xfe", "not UTF-8", id="invalid-utf8"),
    ],
)
def test_a_damaged_history_line_is_exit_2_naming_it(
    line: bytes, named: str, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "history.jsonl").write_bytes(json.dumps(_ENTRY).encode() + b"\n" + line + b"\n")
    result = _loadlab("history", "--results-dir", str(results), cwd=REPO)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]


def test_history_of_an_unknown_scenario_says_there_are_other_runs(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    old_line = {k: v for k, v in _ENTRY.items() if k != "error_rate_percent"}
    old_line["error_rate"] = 0.5  # written before error rates became percent: still read
    (results / "history.jsonl").write_text(json.dumps(old_line) + "\n")
    nope = _loadlab("history", "--results-dir", str(results), "--scenario", "nope", cwd=REPO)
    assert nope.returncode == 0
    assert "no runs of scenario 'nope' among 1 recorded (smoke)" in nope.stdout
    listed = _loadlab("history", "--results-dir", str(results), cwd=REPO)
    assert "50.00%" in listed.stdout
    assert "PASS (exit 0): ok" in listed.stdout
