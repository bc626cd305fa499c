"""Open-model load: arrival rates ("50/s", "1m:10/s,5m:100/s,1m:0/s") and when each arrival is due.

A rate stage ramps linearly from the rate before it to its own, as k6's `ramping-arrival-rate`
does; a constant rate is one stage that starts and ends at that rate. Arrival k (0, 1, 2, ...) is
due when the integral of the rate reaches k + 1, before the end, which is how k6's
`ramping-arrival-rate` (the executor loadlab gives k6) counts: 20/s for 3 s makes 59 arrivals, at
0.05 s, 0.10 s, ..., 2.95 s. The Locust plugin schedules by the same arithmetic, so a rate means
the same on both engines. Nothing here imports an engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from loadlab.errors import UsageError
from loadlab.results import RateStage
from loadlab.stages import split_stage
from loadlab.units import format_duration, parse_rate_per_s

_EPSILON = 1e-9  # an arrival due exactly at the end is not made, however the sum rounds
_EXAMPLE = '"1m:10/s,5m:100/s,1m:0/s"'


def parse_rate(text: str) -> float:
    """Arrivals per second in "50/s", "3000/m"; zero and negative rates are refused."""
    rate = parse_rate_per_s(text)
    if rate <= 0:
        raise ValueError(f"the rate {text!r} must be above 0")
    return rate


def constant_rate(rate_per_s: float, run_time_s: float) -> tuple[RateStage, ...]:
    return (RateStage(duration_s=run_time_s, from_per_s=rate_per_s, to_per_s=rate_per_s),)


def parse_rate_stages(text: str) -> tuple[RateStage, ...]:
    """Stages from "duration:rate,..."; each ramps from the previous rate (0 before the first)."""
    if not text.strip():
        raise UsageError("empty rate stages", hint=f"write e.g. {_EXAMPLE}")
    stages: list[RateStage] = []
    problems: list[str] = []
    previous = 0.0
    for part in (part.strip() for part in text.split(",")):
        try:
            duration_s, rate_text = split_stage(part)
            rate = parse_rate_per_s(rate_text)
            if rate < 0:
                raise ValueError("the rate cannot be negative")
        except ValueError as error:
            problems.append(f"{part!r} ({error})")
            continue
        stages.append(RateStage(duration_s=duration_s, from_per_s=previous, to_per_s=rate))
        previous = rate
    if problems:
        raise UsageError(
            "bad rate stage " + ", ".join(problems),
            hint=f"write duration:rate pairs, e.g. {_EXAMPLE}",
        )
    if peak_rate(stages) == 0:
        raise UsageError(f"rate stages {text!r} never send a request", hint="give a rate above 0")
    return tuple(stages)


def peak_rate(stages: Sequence[RateStage]) -> float:
    return max((max(s.from_per_s, s.to_per_s) for s in stages), default=0.0)


def total_duration_s(stages: Sequence[RateStage]) -> float:
    return sum(stage.duration_s for stage in stages)


def rate_at(stages: Sequence[RateStage], elapsed_s: float) -> float | None:
    """The planned arrivals per second at `elapsed_s`; None once past the end."""
    start_s = 0.0
    for stage in stages:
        if elapsed_s < start_s + stage.duration_s:
            fraction = (elapsed_s - start_s) / stage.duration_s
            return stage.from_per_s + (stage.to_per_s - stage.from_per_s) * fraction
        start_s += stage.duration_s
    return None


def planned_arrivals(stages: Sequence[RateStage]) -> int:
    """How many arrivals the stages make: the whole numbers n >= 1 below the rate's integral."""
    area = _area(stages, total_duration_s(stages))
    return max(0, math.ceil(area - _EPSILON) - 1)


def due_s(stages: Sequence[RateStage], index: int) -> float | None:
    """When arrival `index` (0, 1, ...) is due, in seconds from the start; None past the end."""
    wanted = index + 1.0
    if wanted > _area(stages, total_duration_s(stages)) - _EPSILON:
        return None
    start_s = 0.0
    for stage in stages:
        a, b, d = stage.from_per_s, stage.to_per_s, stage.duration_s
        area = (a + b) / 2.0 * d
        if wanted <= area:
            if a == b:
                return start_s + wanted / a
            slope = (b - a) / d
            # a t + slope t^2 / 2 = wanted, the root in [0, d]
            return start_s + (math.sqrt(max(0.0, a * a + 2.0 * slope * wanted)) - a) / slope
        wanted -= area
        start_s += d
    return None


def format_rate_stages(stages: Sequence[RateStage]) -> str:
    """The stages as JSON ([[seconds, from, to], ...]), for the Locust plugin's option."""
    return json.dumps([[s.duration_s, s.from_per_s, s.to_per_s] for s in stages])


def read_rate_stages(text: str) -> tuple[RateStage, ...]:
    return tuple(RateStage(float(d), float(a), float(b)) for d, a, b in json.loads(text))


def describe(stages: Sequence[RateStage]) -> str:
    """For people: "50/s for 2m", or stages as they are written ("1m:10/s,5m:100/s")."""
    if len(stages) == 1 and stages[0].from_per_s == stages[0].to_per_s:
        return f"{stages[0].to_per_s:g}/s for {format_duration(stages[0].duration_s)}"
    return ",".join(f"{format_duration(s.duration_s)}:{s.to_per_s:g}/s" for s in stages)


def _area(stages: Sequence[RateStage], until_s: float) -> float:
    area = 0.0
    start_s = 0.0
    for stage in stages:
        if until_s <= start_s:
            break
        span = min(stage.duration_s, until_s - start_s)
        end_rate = stage.from_per_s + (stage.to_per_s - stage.from_per_s) * span / stage.duration_s
        area += (stage.from_per_s + end_rate) / 2.0 * span
        start_s += stage.duration_s
    return area
