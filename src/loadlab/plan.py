"""One run's plan: scenario, options and configuration resolved into a frozen, validated `RunPlan`.

Every problem is found before anything starts and reported together; only then does a run begin.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from loadlab.engines import ENGINES
from loadlab.errors import UsageError
from loadlab.generators import Generators, generators
from loadlab.monitor.config import option_problems
from loadlab.rates import constant_rate, parse_rate, parse_rate_stages, peak_rate
from loadlab.rates import total_duration_s as rate_duration_s
from loadlab.results import PlanInfo, RateStage, Stage
from loadlab.scenarios import Config, Scenario
from loadlab.stages import (
    max_ramp_rate,
    parse_stages,
    peak_users,
    ramp_and_hold,
    scale_stages,
    total_duration_s,
)
from loadlab.target import SEED_SIZES
from loadlab.thresholds import ARRIVAL_METRICS, Threshold, parse_threshold, parse_thresholds
from loadlab.units import format_duration, parse_duration

_HOST = re.compile(r"^https?://[^\s/]+(:\d+)?/?$")
# Bounds any run must stay within: past them the load generator exhausts the machine before it
# sends anything (10^11 users). What one engine cannot run is its own rule (`stage_problems`).
MAX_USERS = 100_000
MAX_RUN_S = 31 * 86_400.0
# An open-model run judges that it sent the load it was asked to send, unless told otherwise.
SENT_AS_ASKED = "dropped_rate < 1%"


def max_workers() -> int:
    return 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Options:
    """What the user typed; None means "the scenario's value"."""

    engine: str | None = None
    host: str | None = None
    users: int | None = None
    spawn_rate: float | None = None
    run_time: str | None = None
    stages: str | None = None
    rate: str | None = None
    rate_stages: str | None = None
    max_in_flight: int | None = None
    expect_workers: int | None = None
    master_bind: str | None = None
    expect_workers_max_wait: float | None = None
    tags: str | None = None
    exclude_tags: str | None = None
    scripts: Mapping[str, str] = field(default_factory=dict)  # engine name -> its suite
    workers: int | None = None
    thresholds: tuple[str, ...] = ()
    results_dir: str | None = None
    seed_size: str = "default"
    keep_raw: bool = False
    target_pid: int | None = None
    db_url: str | None = None
    sample_interval: float | None = None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Options:
        """The options from a command's values: each engine's suite option (its
        `script_setting`) goes into `scripts`, and a value not given (None) is left out."""
        given = {key: value for key, value in values.items() if value is not None}
        settings = {engine.script_setting: name for name, engine in ENGINES.items()}
        scripts = {settings[key]: given.pop(key) for key in list(given) if key in settings}
        return cls(**given, scripts=scripts)


@dataclass(frozen=True)
class RunPlan:
    scenario: str
    engine: str
    host: str | None
    stages: tuple[Stage, ...]
    spawn_rate: float
    tags: tuple[str, ...]
    exclude_tags: tuple[str, ...]
    script: Path
    workers: int
    thresholds: tuple[Threshold, ...]
    results_dir: Path
    seed_size: str = "default"
    keep_raw: bool = False
    target_pid: int | None = None  # a local target's process, watched with psutil
    db_url: str | None = None  # PostgreSQL: the embedded platform's database, and its statistics
    sample_interval_s: float = 1.0
    own_profile: str | None = None  # the suite sets the load itself (then `stages` is empty)
    # Open model (docs/capacity.md): arrivals per second instead of users (then `stages` is
    # empty), and the most arrivals in progress at once before further ones are dropped.
    rate_stages: tuple[RateStage, ...] = ()
    max_in_flight: int = 0
    warmup_s: float = 0.0  # seconds after the first response that are not judged (capacity)
    generators: Generators = field(default_factory=Generators)  # Locust workers elsewhere

    @property
    def open_model(self) -> bool:
        return bool(self.rate_stages)

    @property
    def users(self) -> int:
        return peak_users(self.stages) if self.stages else 0

    @property
    def run_time_s(self) -> float:
        if self.rate_stages:
            return rate_duration_s(self.rate_stages)
        return total_duration_s(self.stages)

    def info(self) -> PlanInfo:
        return PlanInfo(
            users=self.users,
            spawn_rate=self.spawn_rate,
            run_time_s=self.run_time_s,
            stages=self.stages,
            tags=self.tags,
            exclude_tags=self.exclude_tags,
            script=_shown(self.script),
            workers=self.workers,
            profile=self.own_profile or ("arrival rate" if self.rate_stages else "stages"),
            rate_stages=self.rate_stages,
            max_in_flight=self.max_in_flight,
            remote_workers=self.generators.remote,
        )


def resolve_plan(config: Config, scenario_name: str, options: Options) -> RunPlan:
    scenario = config.scenario(scenario_name)
    problems: list[str] = []
    engine = options.engine or config.engine
    if engine not in ENGINES:
        problems.append(f"unknown engine {engine!r} (choose {' or '.join(ENGINES)})")
    script = _script(engine, config, options, problems)
    own_profile = ENGINES[engine].own_profile(script) if engine in ENGINES else None
    stages, spawn_rate, rate_stages = _load(scenario, options, own_profile, problems)
    max_in_flight = _max_in_flight(rate_stages, options, problems)
    if options.host is not None and not _HOST.match(options.host):
        problems.append(f"--host {options.host!r} is not a base URL like http://127.0.0.1:8000")
    hosts, found = generators(
        engine, options.expect_workers, options.master_bind, options.expect_workers_max_wait
    )
    problems += found
    fewest = 0 if hosts.remote else 1  # with remote workers, local ones are optional
    if options.workers is not None and not fewest <= options.workers <= max_workers():
        problems.append(
            f"--workers {options.workers} must be between {fewest} and {max_workers()} "
            "(4 per core: more processes than that only compete for the cores)"
        )
    if stages:
        problems += _profile_bounds(stages, spawn_rate)
    if rate_stages and rate_duration_s(rate_stages) > MAX_RUN_S:
        problems.append(f"a run longer than {format_duration(MAX_RUN_S)}")
    workers = 1
    if engine in ENGINES:
        workers, problem = ENGINES[engine].workers(options.workers)
        problems += [problem] if problem else []
        problems += ENGINES[engine].stage_problems(stages)
    if options.seed_size not in SEED_SIZES:
        problems.append(f"--seed-size must be one of {', '.join(SEED_SIZES)}")
    _monitor_problems(options, problems)
    thresholds = _thresholds(scenario, options, bool(rate_stages), problems)
    if problems:
        raise UsageError("; ".join(problems))
    return RunPlan(
        scenario=scenario.name,
        engine=engine,
        host=options.host.rstrip("/") if options.host else None,
        stages=stages,
        spawn_rate=spawn_rate,
        tags=_split(options.tags) if options.tags is not None else scenario.tags,
        exclude_tags=(
            _split(options.exclude_tags)
            if options.exclude_tags is not None
            else scenario.exclude_tags
        ),
        script=script,
        workers=workers,
        thresholds=thresholds,
        results_dir=Path(options.results_dir or config.results_dir),
        seed_size=options.seed_size,
        keep_raw=options.keep_raw,
        target_pid=options.target_pid,
        db_url=options.db_url,
        sample_interval_s=options.sample_interval or 1.0,
        own_profile=own_profile,
        rate_stages=rate_stages,
        max_in_flight=max_in_flight,
        generators=hosts,
    )


def _thresholds(
    scenario: Scenario, options: Options, open_model: bool, problems: list[str]
) -> tuple[Threshold, ...]:
    try:
        explicit = bool(options.thresholds) or not scenario.default_thresholds
        thresholds = parse_thresholds(options.thresholds or scenario.thresholds, explicit=explicit)
    except UsageError as error:
        problems.append(error.one_line())
        return ()
    if open_model and not {t.metric for t in thresholds} & set(ARRIVAL_METRICS):
        thresholds += (parse_threshold(SENT_AS_ASKED),)
    return thresholds


def _load(
    scenario: Scenario, options: Options, own_profile: str | None, problems: list[str]
) -> tuple[tuple[Stage, ...], float, tuple[RateStage, ...]]:
    """Who sets the load: the suite itself, an arrival rate (open model), or users (closed)."""
    if own_profile is not None:
        if options.rate is not None or options.rate_stages is not None:
            problems.append(f"--rate cannot apply: {own_profile} sets the load")
        return (*_suite_profile(own_profile, options, problems), ())
    if _is_open(scenario, options):
        return (), 0.0, _rate_profile(scenario, options, problems)
    return (*_profile(scenario, options, problems), ())


def _is_open(scenario: Scenario, options: Options) -> bool:
    """An arrival rate given on the command line, or by the scenario when no user count is."""
    if options.rate is not None or options.rate_stages is not None:
        return True
    closed = (options.users, options.spawn_rate, options.stages)
    return bool(scenario.rate or scenario.rate_stages) and all(v is None for v in closed)


def _rate_profile(
    scenario: Scenario, options: Options, problems: list[str]
) -> tuple[RateStage, ...]:
    """The open model's rate stages: --rate-stages, --rate (with a run time), or the scenario's."""
    try:
        return _rate_stages(scenario, options)
    except UsageError as error:
        problems.append(error.one_line())
        return ()


def _rate_stages(scenario: Scenario, options: Options) -> tuple[RateStage, ...]:
    closed = [
        flag
        for flag, value in (
            ("--users", options.users),
            ("--spawn-rate", options.spawn_rate),
            ("--stages", options.stages),
        )
        if value is not None
    ]
    if closed:
        raise UsageError(
            f"{', '.join(closed)} set users (the closed model) and cannot be combined with an "
            "arrival rate: give either users or a rate (docs/capacity.md)"
        )
    if options.rate is not None and options.rate_stages is not None:
        raise UsageError("give --rate (with --run-time) or --rate-stages, not both")
    if options.rate_stages is not None:
        if options.run_time is not None:
            raise UsageError("--rate-stages sets the run's length: omit --run-time")
        return parse_rate_stages(options.rate_stages)
    run_time_s = _run_time(options, scenario)
    if options.rate is not None:
        return constant_rate(_rate(options.rate), run_time_s)
    if scenario.rate_stages:
        scale = (
            1.0 if options.run_time is None else run_time_s / rate_duration_s(scenario.rate_stages)
        )
        return tuple(
            RateStage(s.duration_s * scale, s.from_per_s, s.to_per_s) for s in scenario.rate_stages
        )
    return constant_rate(scenario.rate or 1.0, run_time_s)


def _rate(text: str) -> float:
    try:
        rate = parse_rate(text)
    except ValueError as error:
        raise UsageError(f"--rate: {error}") from None
    if rate > MAX_USERS:
        raise UsageError(f"--rate {text} is above what one run sends (at most {MAX_USERS:,}/s)")
    return rate


def _run_time(options: Options, scenario: Scenario) -> float:
    """--run-time, else the scenario's length."""
    found: list[str] = []
    run_time_s = _given_run_time(options, found)
    if found:
        raise UsageError("; ".join(found))
    if run_time_s is not None:
        return run_time_s
    if scenario.rate_stages:
        return rate_duration_s(scenario.rate_stages)
    known = scenario.run_time_s or (total_duration_s(scenario.stages) if scenario.stages else 0)
    if not known:
        raise UsageError("--rate needs --run-time: how long to send it")
    return known


def _max_in_flight(
    rate_stages: tuple[RateStage, ...], options: Options, problems: list[str]
) -> int:
    """The open model's bound on arrivals in progress: past it, arrivals are dropped and counted.

    By default ten seconds of the peak rate: enough for every answer within the thresholds a
    run judges, while a target that stops answering cannot make the generator hold unbounded
    users (k6's maxVUs, the Locust plugin's pool)."""
    if options.max_in_flight is not None:
        if not rate_stages:
            problems.append("--max-in-flight is for an arrival rate (--rate or --rate-stages)")
        elif not 1 <= options.max_in_flight <= MAX_USERS:
            problems.append(f"--max-in-flight must be between 1 and {MAX_USERS:,}")
        return options.max_in_flight
    if not rate_stages:
        return 0
    return min(MAX_USERS, max(10, math.ceil(peak_rate(rate_stages) * 10)))


def _monitor_problems(options: Options, problems: list[str]) -> None:
    if options.target_pid is not None and options.target_pid > 0:
        if options.host is None:
            problems.append("--target-pid needs --host: the embedded platform's process is known")
        elif not psutil.pid_exists(options.target_pid):
            problems.append(f"--target-pid {options.target_pid}: no such process on this machine")
    problems += option_problems(
        target_pid=options.target_pid, db_url=options.db_url, interval_s=options.sample_interval
    )


def _suite_profile(
    own_profile: str, options: Options, problems: list[str]
) -> tuple[tuple[Stage, ...], float]:
    """The suite sets its own load: loadlab follows it, and a profile option cannot apply."""
    given = [
        flag
        for flag, value in (
            ("--users", options.users),
            ("--spawn-rate", options.spawn_rate),
            ("--run-time", options.run_time),
            ("--stages", options.stages),
        )
        if value is not None
    ]
    if given:
        problems.append(
            f"{', '.join(given)} cannot apply: {own_profile} sets the load; omit "
            f"{'it' if len(given) == 1 else 'them'} to follow it, or take it out of the suite "
            "to use loadlab's profiles"
        )
    return (), 0.0


def _profile_bounds(stages: tuple[Stage, ...], spawn_rate: float) -> list[str]:
    found = []
    if peak_users(stages) > MAX_USERS:
        found.append(
            f"{peak_users(stages)} users is more than one loadlab run drives "
            f"(at most {MAX_USERS:,}); split the load over several generators"
        )
    if spawn_rate > MAX_USERS:
        found.append(f"a spawn rate of {spawn_rate:g}/s is above {MAX_USERS:,} users/s")
    total_s = total_duration_s(stages)
    if total_s > MAX_RUN_S:
        found.append(
            f"a run of {format_duration(total_s)} is longer than {format_duration(MAX_RUN_S)}"
        )
    return found


def _profile(
    scenario: Scenario, options: Options, problems: list[str]
) -> tuple[tuple[Stage, ...], float]:
    """The stages both engines follow, and the spawn rate they imply."""
    found: list[str] = []
    run_time_s = _option_problems(options, found)
    stages: tuple[Stage, ...] = ()
    spawn_rate = 0.0
    if not found:
        if options.stages is not None:
            stages = _given_stages(options, found)
        elif scenario.stages:
            stages = _scaled_stages(scenario, options, run_time_s, found)
        else:
            users = options.users or scenario.users or 1
            spawn_rate = options.spawn_rate or scenario.spawn_rate or 1.0
            run_time = run_time_s or scenario.run_time_s or 60.0
            stages = ramp_and_hold(users, spawn_rate, run_time)
        if stages and not spawn_rate:
            spawn_rate = max_ramp_rate(stages)
    problems += found
    return ((), 0.0) if found else (stages, spawn_rate)


def _option_problems(options: Options, found: list[str]) -> float | None:
    """Checks --run-time, --users and --spawn-rate; returns the run time in seconds, if given."""
    run_time_s = _given_run_time(options, found)
    for name, value in (("--users", options.users), ("--spawn-rate", options.spawn_rate)):
        if value is not None and value <= 0:
            found.append(f"{name} must be positive")
        elif value is not None and value > MAX_USERS:
            found.append(f"{name} {value:,} is above what one run drives (at most {MAX_USERS:,})")
    return run_time_s


def _given_run_time(options: Options, found: list[str]) -> float | None:
    if options.run_time is None:
        return None
    try:
        run_time_s = parse_duration(options.run_time)
    except ValueError as error:
        found.append(f"--run-time: {error}")
        return None
    if run_time_s <= 0:
        found.append("--run-time must be positive")
    return run_time_s


def _given_stages(options: Options, found: list[str]) -> tuple[Stage, ...]:
    flags = [n for n, v in (("--users", options.users), ("--run-time", options.run_time)) if v]
    flags += ["--spawn-rate"] if options.spawn_rate is not None else []
    if flags:
        found.append(f"--stages cannot be combined with {', '.join(flags)}")
        return ()
    try:
        return parse_stages(options.stages or "")
    except UsageError as error:
        found.append(error.one_line())
        return ()


def _scaled_stages(
    scenario: Scenario, options: Options, run_time_s: float | None, found: list[str]
) -> tuple[Stage, ...]:
    if options.spawn_rate is not None:
        found.append(
            f"--spawn-rate does not apply to {scenario.name!r}: its ramps come from its stages "
            "(use --users/--run-time to scale them, or --stages)"
        )
        return ()
    return scale_stages(scenario.stages, peak=options.users, total_s=run_time_s)


def _script(engine: str, config: Config, options: Options, problems: list[str]) -> Path:
    chosen = ENGINES.get(engine)
    if chosen is None:
        return Path()
    for name, other in ENGINES.items():
        if other is not chosen and options.scripts.get(name):
            problems.append(
                f"{other.script_option} is for --engine {name}; "
                f"give {chosen.script_option} for {engine}"
            )
    flag = chosen.script_option
    text = options.scripts.get(engine) or config.scripts[engine]
    path = Path(text)
    if not path.is_file():
        problems.append(f"{flag} {text} not found (run from the repository root or give {flag})")
    return path.resolve()


def _shown(path: Path) -> str:
    """Relative to the current directory when inside it, as the user would type it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())
