"""Where the history lives, how many runs make a baseline, which changes fail a run, and the
labels a run is recorded with: `[history]` in loadlab.toml and the options, checked before a run.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadlab.errors import UsageError
from loadlab.regressions import DEFAULT_REGRESSIONS, RegressionLimit, parse_limits

DEFAULT_BASELINE_RUNS = 5
MAX_BASELINE_RUNS = 100
_KEYS = frozenset({"url", "baseline_runs", "regressions"})
_LABEL = re.compile(r"^(?P<key>[A-Za-z0-9_.-]{1,100})=(?P<value>.{0,500})$")


@dataclass(frozen=True)
class HistorySettings:
    url: str | None  # None: results/history.sqlite
    baseline_runs: int = DEFAULT_BASELINE_RUNS
    # The user's limits (they set the exit code); without any, the defaults are shown only.
    regressions: tuple[RegressionLimit, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def judged(self) -> bool:
        return bool(self.regressions)

    def limits(self) -> tuple[RegressionLimit, ...]:
        return self.regressions or parse_limits(DEFAULT_REGRESSIONS)


def history_settings(
    table: Mapping[str, Any],
    *,
    url: str | None = None,
    labels: Sequence[str] = (),
    cwd: Path | None = None,
) -> HistorySettings:
    """`[history]` overlaid by the options; every problem named in one usage error."""
    problems = [f"unknown key history.{key}" for key in sorted(set(table) - _KEYS)]
    configured_url = table.get("url")
    if configured_url is not None and not isinstance(configured_url, str):
        problems.append("history.url must be a string")
        configured_url = None
    count = table.get("baseline_runs", DEFAULT_BASELINE_RUNS)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BASELINE_RUNS:
        problems.append(f"history.baseline_runs must be a whole number 1..{MAX_BASELINE_RUNS}")
        count = DEFAULT_BASELINE_RUNS
    expressions = table.get("regressions", [])
    limits: tuple[RegressionLimit, ...] = ()
    if not isinstance(expressions, list) or not all(isinstance(e, str) for e in expressions):
        problems.append("history.regressions must be a list of strings")
    else:
        try:
            limits = parse_limits(expressions)
        except UsageError as error:
            problems.append(error.one_line())
    parsed_labels = {}
    for label in labels:
        match = _LABEL.match(label)
        if match is None:
            problems.append(f"bad label {label!r}: write key=value (key: letters, digits, _.-)")
        else:
            parsed_labels[match.group("key")] = match.group("value")
    if problems:
        raise UsageError("; ".join(problems), hint="fix [history] in loadlab.toml or the options")
    commit = git_commit(cwd or Path.cwd())
    if commit is not None:
        parsed_labels.setdefault("git_commit", commit)
    return HistorySettings(
        url=url or configured_url,
        baseline_runs=count,
        regressions=limits,
        labels=parsed_labels,
    )


def git_commit(cwd: Path) -> str | None:
    """The checked-out commit when `cwd` is in a git work tree (None otherwise, or without git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None
