"""Load profiles as stages ("2m:200,5m:200,2m:0", k6's --stage spelling) shared by both engines.

Locust follows the same stages through a load shape, so a scenario means the same load on both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from loadlab.errors import UsageError
from loadlab.results import Stage
from loadlab.units import parse_duration


def split_stage(part: str) -> tuple[float, str]:
    """One "duration:value" part: the positive duration in seconds, and the value's text."""
    duration_text, colon, value_text = part.partition(":")
    if not colon:
        raise ValueError("missing ':'")
    duration_s = parse_duration(duration_text)
    if duration_s <= 0:
        raise ValueError("the duration must be positive")
    return duration_s, value_text.strip()


def parse_stages(text: str) -> tuple[Stage, ...]:
    """Stages from "duration:target,..."; every bad part is named at once."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip():
        raise UsageError("empty stage string", hint='write e.g. "2m:200,5m:200,2m:0"')
    stages: list[Stage] = []
    problems: list[str] = []
    for part in parts:
        try:
            duration_s, target_text = split_stage(part)
            if not target_text.isdigit():
                raise ValueError("the target must be a whole number of users")
            target = int(target_text)
        except ValueError as error:
            problems.append(f"{part!r} ({error})")
            continue
        stages.append(Stage(duration_s=duration_s, target=target))
    if problems:
        raise UsageError(
            "bad stage " + ", ".join(problems),
            hint='write duration:users pairs, e.g. "2m:200,5m:200,2m:0"',
        )
    if max(stage.target for stage in stages) == 0:
        raise UsageError(
            f"stages {text!r} never start a user", hint="give at least one target above 0"
        )
    return tuple(stages)


def ramp_and_hold(users: int, spawn_rate: float, run_time_s: float) -> tuple[Stage, ...]:
    """Locust's --users/--spawn-rate/--run-time as stages: ramp at spawn_rate, then hold."""
    ramp_s = users / spawn_rate
    if ramp_s >= run_time_s:
        reached = max(1, min(users, math.floor(spawn_rate * run_time_s)))
        return (Stage(duration_s=run_time_s, target=reached),)
    return (
        Stage(duration_s=ramp_s, target=users),
        Stage(duration_s=run_time_s - ramp_s, target=users),
    )


def scale_stages(
    stages: Sequence[Stage], *, peak: int | None = None, total_s: float | None = None
) -> tuple[Stage, ...]:
    """The same shape with its peak moved to `peak` users and its length to `total_s` seconds."""
    old_peak = max(stage.target for stage in stages)
    old_total = sum(stage.duration_s for stage in stages)
    user_factor = 1.0 if peak is None else peak / old_peak
    time_factor = 1.0 if total_s is None else total_s / old_total
    return tuple(
        Stage(
            duration_s=round(stage.duration_s * time_factor, 3),
            target=max(0, round(stage.target * user_factor)),
        )
        for stage in stages
    )


def total_duration_s(stages: Sequence[Stage]) -> float:
    return sum(stage.duration_s for stage in stages)


def peak_users(stages: Sequence[Stage]) -> int:
    return max(stage.target for stage in stages)


def max_ramp_rate(stages: Sequence[Stage]) -> float:
    """The fastest change of users per second, the spawn rate a staged profile implies."""
    previous = 0
    fastest = 0.0
    for stage in stages:
        fastest = max(fastest, abs(stage.target - previous) / stage.duration_s)
        previous = stage.target
    return fastest


def users_at(stages: Sequence[Stage], elapsed_s: float) -> float | None:
    """The planned users at `elapsed_s`, linear within a stage as in k6; None once past the end."""
    start_s = 0.0
    previous = 0
    for stage in stages:
        if elapsed_s < start_s + stage.duration_s:
            fraction = (elapsed_s - start_s) / stage.duration_s
            return previous + (stage.target - previous) * fraction
        start_s += stage.duration_s
        previous = stage.target
    return None


def shape_tick(stages: Sequence[Stage], elapsed_s: float) -> tuple[int, float] | None:
    """What Locust's load shape asks for at `elapsed_s`: the stage's target users and the rate to
    reach it over the stage (a linear ramp, as k6 runs it), or None once the stages are over.

    A hold has no ramp of its own; it gets the fastest rate of the profile, so users lost on the
    way (a worker restarting) come back at once.
    """
    fastest = max_ramp_rate(stages) if stages else 1.0
    start_s = 0.0
    previous = 0
    for stage in stages:
        if elapsed_s < start_s + stage.duration_s:
            if stage.target == previous:
                rate = fastest
            else:
                rate = abs(stage.target - previous) / stage.duration_s
            return stage.target, max(rate, 0.01)
        start_s += stage.duration_s
        previous = stage.target
    return None


def format_stages(stages: Sequence[Stage], *, exact: bool = False) -> str:
    """k6's --stage spelling, with millisecond durations so shortened profiles survive; `exact`
    keeps each duration's every digit in seconds (the Locust plugin's: a 0.2 ms ramp stays)."""
    if exact:  # Decimal writes a float's shortest repr without an exponent: parse_stages reads it
        return ",".join(f"{Decimal(repr(s.duration_s)):f}s:{s.target}" for s in stages)
    return ",".join(f"{round(stage.duration_s * 1000)}ms:{stage.target}" for stage in stages)


def steady_window(stages: Sequence[Stage]) -> tuple[float, float]:
    """The longest hold (a stage that keeps its users), where CPU and memory growth are judged.

    A profile without a hold (a spike) is judged over its whole length.
    """
    best: tuple[float, float] | None = None
    start_s = 0.0
    previous = 0
    for stage in stages:
        end_s = start_s + stage.duration_s
        is_hold = stage.target == previous and stage.target > 0
        if is_hold and (best is None or end_s - start_s > best[1] - best[0]):
            best = (start_s, end_s)
        start_s = end_s
        previous = stage.target
    return best if best is not None else (0.0, start_s)


def judged_window(
    stages: Sequence[Stage], load_started_s: float, load_ended_s: float
) -> tuple[float, float]:
    """The planned hold on the clock of the run, cut to the load that really happened.

    The stages count from the first response; a run that started late or was stopped early must
    not be judged over seconds without load. With no hold left, the whole load is judged.
    """
    planned_from_s, planned_to_s = steady_window(stages)
    from_s = min(load_started_s + planned_from_s, load_ended_s)
    to_s = min(load_started_s + planned_to_s, load_ended_s)
    if to_s - from_s < 1.0:
        return load_started_s, load_ended_s
    return from_s, to_s
