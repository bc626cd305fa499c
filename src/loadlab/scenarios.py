"""Scenarios and defaults from `loadlab.toml`: the seed's presets as data, checked before a run.

The package ships the defaults; a `loadlab.toml` in the current directory (or `--config`) is layered
on top, so a user adds or tunes a scenario without touching code. Every problem in the files is
reported at once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from loadlab.engines import ENGINES
from loadlab.errors import UsageError
from loadlab.rates import describe, parse_rate, parse_rate_stages
from loadlab.results import RateStage, Stage
from loadlab.stages import parse_stages
from loadlab.units import format_duration, parse_duration

DEFAULT_CONFIG_NAME = "loadlab.toml"
DEFAULTS_SOURCE = "package defaults"
_SCENARIO_KEYS = frozenset(
    {
        "description",
        "users",
        "spawn_rate",
        "run_time",
        "stages",
        "rate",
        "rate_stages",
        "thresholds",
        "tags",
        "exclude_tags",
    }
)
# The kinds of load profile: the keys that name a kind, and every key the kind uses. `run_time`
# names none: it keeps a scenario of users or of a rate what it is, and makes one of stages a
# scenario of users (as before rates existed).
_PROFILES = (
    (frozenset({"stages"}), frozenset({"stages"})),
    (frozenset({"rate_stages"}), frozenset({"rate_stages"})),
    (frozenset({"rate"}), frozenset({"rate", "run_time"})),
    (frozenset({"users", "spawn_rate"}), frozenset({"users", "spawn_rate", "run_time"})),
)
_PROFILE_KEYS = frozenset().union(*(keys for _, keys in _PROFILES))
# Each engine's suite is a key of its own, named by the engine (`script_setting`).
_DEFAULT_KEYS = frozenset({"engine", "results_dir", *(e.script_setting for e in ENGINES.values())})


@dataclass(frozen=True)
class Scenario:
    """One preset: a ramp-and-hold profile (users, spawn_rate, run_time), stages of users, or
    an arrival rate (the open model: rate and run_time, or rate_stages)."""

    name: str
    description: str
    users: int | None
    spawn_rate: float | None
    run_time_s: float | None
    stages: tuple[Stage, ...]
    thresholds: tuple[str, ...]
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    # True when the thresholds are the package's presets, not the user's loadlab.toml.
    default_thresholds: bool = False
    rate: float | None = None
    rate_stages: tuple[RateStage, ...] = ()

    def profile_text(self) -> str:
        if self.rate_stages:
            return "arrivals " + describe(self.rate_stages)
        if self.rate is not None:
            return f"arrivals {self.rate:g}/s for {format_duration(self.run_time_s or 0.0)}"
        if self.stages:
            parts = (f"{format_duration(s.duration_s)}:{s.target}" for s in self.stages)
            return "stages " + ",".join(parts)
        run_time = format_duration(self.run_time_s or 0.0)
        return f"{self.users} users, spawn {self.spawn_rate:g}/s, {run_time}"


@dataclass(frozen=True)
class Config:
    scenarios: Mapping[str, Scenario]
    engine: str
    scripts: Mapping[str, str]  # engine name -> its suite, from its `script_setting` key
    results_dir: str
    sources: tuple[str, ...]
    # [history]: url, baseline_runs, regressions; checked by history_config.py
    history: Mapping[str, Any] = field(default_factory=dict)

    def scenario(self, name: str) -> Scenario:
        try:
            return self.scenarios[name]
        except KeyError:
            known = ", ".join(sorted(self.scenarios))
            raise UsageError(
                f"unknown scenario {name!r}",
                hint=f"choose one of {known}, or add [scenarios.{name}] to loadlab.toml",
            ) from None


@dataclass(frozen=True)
class ConfigRead:
    """The configuration as far as its files allow, beside what is wrong with them, so that a
    run checks its options in the same pass instead of stopping at the files' problems."""

    config: Config | None  # None: a file could not be read or parsed
    error: UsageError | None = None
    # "defaults", "history" or "scenarios.NAME" whose values were refused: `config` holds the
    # package's for them (or lacks the scenario), not what the user wrote.
    refused: frozenset[str] = frozenset()

    def for_plan(self, scenario: str) -> Config | None:
        """The configuration when `scenario`'s plan can be resolved on what the user wrote."""
        if self.config is None or {"defaults", f"scenarios.{scenario}"} & self.refused:
            return None
        return self.config


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> Config:
    """The package defaults, overlaid by `path` (must exist) or by ./loadlab.toml (if present)."""
    read = read_config(path, cwd=cwd)
    if read.error is not None:
        raise read.error
    assert read.config is not None  # read_config gives one whenever there is no error
    return read.config


def read_config(path: Path | None = None, *, cwd: Path | None = None) -> ConfigRead:
    """What `load_config` reads, with every problem of the files kept instead of raised."""
    default_text = resources.files("loadlab").joinpath(DEFAULT_CONFIG_NAME).read_text()
    layers: list[tuple[str, dict[str, Any]]] = [(DEFAULTS_SOURCE, _parse(default_text, "defaults"))]
    try:
        if path is not None:
            if not path.is_file():
                raise UsageError(f"config file {path} not found", hint="check the --config path")
            layers.append((str(path), _parse(_read(path), str(path))))
        else:
            local = (cwd or Path.cwd()) / DEFAULT_CONFIG_NAME
            if local.is_file():
                layers.append((str(local), _parse(_read(local), str(local))))
    except UsageError as error:
        return ConfigRead(config=None, error=error)
    return _build(layers)


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{path} is not UTF-8 text (byte {error.start}: {error.reason})",
            hint="save it as UTF-8",
        ) from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}", hint="check the path") from None


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{source} is not valid TOML: {error}", hint="fix the file") from None


@dataclass
class _Layers:
    """What the configuration files say once layered, and every problem found on the way."""

    problems: list[str] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)  # tables with a refused value
    defaults: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    thresholds_from: dict[str, str] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)

    def add(self, source: str, data: dict[str, Any]) -> None:
        sections = {
            "defaults": "a table ([defaults])",
            "scenarios": "tables ([scenarios.NAME])",
            "history": "a table ([history])",
        }
        for section, kind in sections.items():
            if not isinstance(data.get(section, {}), dict):
                self.problems.append(f"{source}: {section} must be {kind}")
                self.refused.add(section)
                data = {**data, section: {}}
        for key in sorted(set(data) - set(sections)):
            self.problems.append(f"{source}: unknown section [{key}]")
        for key, value in dict(data.get("defaults", {})).items():
            if key not in _DEFAULT_KEYS:
                self.problems.append(f"{source}: unknown key defaults.{key}")
            elif not isinstance(value, str):
                self.problems.append(f"{source}: defaults.{key} must be a string")
                self.refused.add("defaults")
            else:
                self.defaults[key] = value
        self.history.update(data.get("history", {}))
        for name, table in dict(data.get("scenarios", {})).items():
            if not isinstance(table, dict):
                self.problems.append(f"{source}: scenarios.{name} must be a table")
                self.refused.add(f"scenarios.{name}")
            else:
                self._add_scenario(source, name, table)

    def _add_scenario(self, source: str, name: str, table: dict[str, Any]) -> None:
        for key in sorted(set(table) - _SCENARIO_KEYS):
            self.problems.append(f"{source}: unknown key scenarios.{name}.{key}")
        merged = self.scenarios.setdefault(name, {})
        # A table that sets one kind of profile replaces the kind it had.
        kind = _profile_kind(table)
        if kind is None and "run_time" in table:  # a new length: users or a rate keep their kind
            kept = _profile_kind(merged)
            kind = kept if kept is not None and "run_time" in kept else _PROFILES[-1][1]
        if kind is not None:
            for key in _PROFILE_KEYS - kind:
                merged.pop(key, None)
        merged.update({k: v for k, v in table.items() if k in _SCENARIO_KEYS})
        if "thresholds" in table:
            self.thresholds_from[name] = source


def _profile_kind(table: dict[str, Any]) -> frozenset[str] | None:
    """Every key of the kind of profile that `table` names, if it names one."""
    for naming, keys in _PROFILES:
        if naming & set(table):
            return keys
    return None


def _build(layers: list[tuple[str, dict[str, Any]]]) -> ConfigRead:
    found = _Layers()
    for source, data in layers:
        found.add(source, data)
    problems = found.problems
    scenarios = {}
    for name, table in found.scenarios.items():
        from_defaults = found.thresholds_from.get(name) == DEFAULTS_SOURCE
        scenario = _scenario(name, table, problems, from_defaults)
        if scenario is not None:
            scenarios[name] = scenario
        else:
            found.refused.add(f"scenarios.{name}")
    defaults = found.defaults  # the package's value stands wherever the user's was refused
    config = Config(
        scenarios=MappingProxyType(scenarios),
        engine=defaults["engine"],
        scripts=MappingProxyType(
            {name: defaults.get(e.script_setting, e.default_script) for name, e in ENGINES.items()}
        ),
        results_dir=defaults["results_dir"],
        sources=tuple(source for source, _ in layers),
        history=MappingProxyType(found.history),
    )
    error = (
        UsageError("bad configuration: " + "; ".join(problems), hint="fix loadlab.toml")
        if problems
        else None
    )
    return ConfigRead(config=config, error=error, refused=frozenset(found.refused))


def _scenario(
    name: str, table: dict[str, Any], problems: list[str], default_thresholds: bool
) -> Scenario | None:
    where = f"scenarios.{name}"
    before = len(problems)
    stages: tuple[Stage, ...] = ()
    rate_stages: tuple[RateStage, ...] = ()
    users = spawn_rate = run_time_s = rate = None
    if "stages" in table:
        try:
            stages = parse_stages(str(table["stages"]))
        except UsageError as error:
            problems.append(f"{where}.stages: {error}")
    elif "rate_stages" in table:
        try:
            rate_stages = parse_rate_stages(str(table["rate_stages"]))
        except UsageError as error:
            problems.append(f"{where}.rate_stages: {error.one_line()}")
    elif "rate" in table:
        try:
            rate = parse_rate(str(table["rate"]))
        except ValueError as error:
            problems.append(f"{where}.rate: {error}")
        run_time_s = _run_time(table, where, problems)
    else:
        users = _number(table, "users", where, problems, integer=True)
        spawn_rate = _number(table, "spawn_rate", where, problems, integer=False)
        run_time_s = _run_time(table, where, problems)
    lists = {
        key: _strings(table, key, where, problems) for key in ("thresholds", "tags", "exclude_tags")
    }
    description = table.get("description", "")
    if len(problems) > before:
        return None
    return Scenario(
        name=name,
        description=str(description),
        users=None if users is None else int(users),
        spawn_rate=spawn_rate,
        run_time_s=run_time_s,
        stages=stages,
        thresholds=lists["thresholds"],
        tags=lists["tags"],
        exclude_tags=lists["exclude_tags"],
        default_thresholds=default_thresholds,
        rate=rate,
        rate_stages=rate_stages,
    )


def _run_time(table: dict[str, Any], where: str, problems: list[str]) -> float | None:
    try:
        run_time_s = parse_duration(str(table.get("run_time", "")))
    except ValueError as error:
        problems.append(f"{where}.run_time: {error}")
        return None
    if run_time_s <= 0:
        problems.append(f"{where}.run_time must be positive")
    return run_time_s


def _number(
    table: dict[str, Any], key: str, where: str, problems: list[str], *, integer: bool
) -> float | None:
    value = table.get(key)
    valid = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not isinstance(value, int | float) or not valid or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        problems.append(f"{where}.{key} must be {kind} (or give stages instead)")
        return None
    return float(value)


def _strings(table: dict[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{where}.{key} must be a list of strings")
        return ()
    return tuple(value)
