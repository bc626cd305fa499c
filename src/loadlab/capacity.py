"""`loadlab capacity`: the highest arrival rate at which a scenario's thresholds hold.

The search is a sequence of ordinary open-model runs (steps), each at one constant rate, held for
a warm-up and then for the step time; only what follows the warm-up is judged. Rates rise by
`factor` from `start` until a step does not hold (a threshold fails, errors appear, arrivals are
dropped), the load generator saturates, or the ceiling is reached. Then the interval between the
last rate that held and the first that did not is halved until it is narrower than `resolution`
(relative to the lower end). A threshold a step had too few requests to judge (`error_rate <
0.1%` needs 3,000) neither holds nor fails it: the answer names it as not judged. A saturated
generator ends the search: the answer is then "at least the last rate that held", never a
capacity that is really the generator's (docs/capacity.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from loadlab.errors import EXIT_INCONCLUSIVE, EXIT_PASSED, EXIT_TARGET_OR_ENGINE, LoadlabError
from loadlab.metrics import format_value
from loadlab.results import RunSummary

# Why the search ended: the limit was found, the ceiling held, the generator saturated, or even
# the lowest rate tried did not hold.
Ending = Literal["limit", "ceiling", "saturated", "below_start"]
MAX_LOWERINGS = 4  # halvings of the start rate tried when the first step does not hold
MAX_STEPS = 40


@dataclass(frozen=True)
class SearchSettings:
    start_per_s: float = 10.0
    max_per_s: float = 1000.0
    factor: float = 1.5
    resolution: float = 0.05  # relative: stop when (failed - held) / held is below this
    step_s: float = 20.0
    warmup_s: float = 5.0
    min_capacity_per_s: float | None = None


@dataclass(frozen=True)
class Step:
    """One rate tried: what was asked, what came back, and whether the thresholds held."""

    rate_per_s: float
    held: bool
    exit_code: int
    run_id: str
    sent_per_s: float
    throughput_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    service_p99_ms: float | None
    error_rate: float
    dropped: int
    generator_saturated: bool
    failed: tuple[str, ...] = ()  # "expression (measured)" of each threshold that did not hold
    unjudged: tuple[str, ...] = ()  # thresholds with too few requests at this step to judge

    @classmethod
    def of(cls, rate_per_s: float, summary: RunSummary, warmup_s: float) -> Step:
        totals, open_model = summary.totals, summary.open_model
        failed = tuple(
            f"{t.expression} ({t.metric} {format_value(t.measured, t.unit)})"
            for t in summary.thresholds
            if t.status in ("fail", "no_data")
        )
        unjudged = tuple(t.expression for t in summary.thresholds if t.status == "inconclusive")
        return cls(
            rate_per_s=rate_per_s,
            held=summary.verdict.exit_code in (EXIT_PASSED, EXIT_INCONCLUSIVE),
            exit_code=summary.verdict.exit_code,
            run_id=summary.run_id,
            sent_per_s=open_model.sent_per_s if open_model else 0.0,
            throughput_per_s=_throughput(summary, warmup_s),
            p50_ms=totals.p50_ms,
            p95_ms=totals.p95_ms,
            p99_ms=totals.p99_ms,
            service_p99_ms=open_model.service.p99_ms if open_model else None,
            error_rate=totals.error_rate,
            dropped=open_model.dropped if open_model else 0,
            generator_saturated=summary.verdict.generator_saturated,
            failed=failed,
            unjudged=unjudged,
        )


@dataclass(frozen=True)
class CapacityResult:
    scenario: str
    engine: str
    host: str
    settings: SearchSettings
    ending: Ending
    capacity_per_s: float | None  # the highest rate that held
    failed_at_per_s: float | None  # the lowest rate that did not
    line: str
    exit_code: int
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "capacity", **asdict(self)}


def search(settings: SearchSettings, run_step: Callable[[float], Step]) -> tuple[Step, ...]:
    """Every step of the search, in the order run; `run_step` runs one rate and judges it."""
    found = _Search(settings, run_step)
    try:
        found.rise()
        found.lower()
        found.narrow()
    except _Ended:
        pass
    return tuple(found.steps)


class _Ended(Exception):
    """A step after which no other rate can tell anything more about the target."""


class _Search:
    def __init__(self, settings: SearchSettings, run_step: Callable[[float], Step]) -> None:
        self.settings = settings
        self.run_step = run_step
        self.steps: list[Step] = []
        self.held: float | None = None
        self.failed: float | None = None

    def rise(self) -> None:
        rate = self.settings.start_per_s
        while self.tried(rate) and rate < self.settings.max_per_s:
            rate = min(_nice(rate * self.settings.factor), self.settings.max_per_s)
        if self.failed is None:
            raise _Ended  # the ceiling held

    def lower(self) -> None:
        """The start rate already failed: halve it a few times until one holds."""
        rate = self.settings.start_per_s
        for _ in range(MAX_LOWERINGS if self.held is None else 0):
            rate = _nice(rate / 2)
            if self.tried(rate):
                return

    def narrow(self) -> None:
        while self.held is not None and self.failed is not None:
            if (self.failed - self.held) / self.held <= self.settings.resolution:
                return
            rate = _nice((self.held + self.failed) / 2, finer=True)
            if rate in (self.held, self.failed):
                return
            self.tried(rate)

    def tried(self, rate: float) -> bool:
        """Runs one step; True if it held."""
        if len(self.steps) >= MAX_STEPS:
            raise LoadlabError(f"the search ran {MAX_STEPS} steps without an answer")
        step = self.run_step(rate)
        self.steps.append(step)
        if _ends(step):
            raise _Ended
        if step.held:
            self.held = rate if self.held is None else max(self.held, rate)
        else:
            self.failed = rate if self.failed is None else min(self.failed, rate)
        return step.held


def conclude(
    scenario: str, engine: str, host: str, settings: SearchSettings, steps: tuple[Step, ...]
) -> CapacityResult:
    """The answer the steps give, in one line, and the exit code for CI."""
    held = [s for s in steps if s.held]
    refused = [s for s in steps if not s.held]
    best = max(held, key=lambda s: s.rate_per_s, default=None)
    above = [s for s in refused if best is None or s.rate_per_s > best.rate_per_s]
    first_bad = min(above, key=lambda s: s.rate_per_s, default=None)
    last = steps[-1]
    capacity = best.rate_per_s if best else None
    if last.generator_saturated:
        ending: Ending = "saturated"
        line = (
            f"capacity: at least {_rate(capacity)}: the load generator saturated at "
            f"{_rate(last.rate_per_s)} before the target failed; add --workers or generator "
            "hosts to find the target's limit"
        )
    elif first_bad is None:
        ending = "ceiling"
        line = f"capacity: above {_rate(capacity)}: every threshold holds up to the ceiling"
    elif best is None:
        ending = "below_start"
        line = (
            f"capacity: below {_rate(first_bad.rate_per_s)}: {_why(first_bad)}; "
            "give a lower --start-rate"
        )
    else:
        ending = "limit"
        line = (
            f"capacity: {_rate(capacity)}: {_holds(first_bad)} holds up to {_rate(capacity)} "
            f"({best.throughput_per_s:.1f} req/s) and fails at {_rate(first_bad.rate_per_s)} "
            f"({_measured(first_bad)})"
        )
    unjudged = sorted({u for s in held for u in s.unjudged})
    if unjudged:
        line += f" (not judged at this --step-time, too few requests: {', '.join(unjudged)})"
    exit_code = _exit_code(ending, capacity, settings)
    if settings.min_capacity_per_s is not None:
        wanted = _rate(settings.min_capacity_per_s)
        line += f"; --min-capacity {wanted} {'met' if exit_code == 0 else 'not met'}"
    return CapacityResult(
        scenario=scenario,
        engine=engine,
        host=host,
        settings=settings,
        ending=ending,
        capacity_per_s=capacity,
        failed_at_per_s=first_bad.rate_per_s if first_bad else None,
        line=line,
        exit_code=exit_code,
        steps=steps,
    )


def _throughput(summary: RunSummary, warmup_s: float) -> float:
    """Responses per second over the whole seconds after the warm-up: the first and last seconds
    with a response are partial, and a run's own rate (requests / seconds with a response)
    counts them as whole."""
    loaded = [i for i, row in enumerate(summary.timeline) if row.requests]
    if not loaded:
        return 0.0
    whole = summary.timeline[loaded[0] + math.ceil(warmup_s) + 1 : loaded[-1]]
    if not whole:
        return summary.totals.rps
    return sum(row.requests for row in whole) / len(whole)


def _exit_code(ending: Ending, capacity: float | None, settings: SearchSettings) -> int:
    """0: found (and at least --min-capacity); 1: below --min-capacity; 5: the generator
    saturated first, so the target's limit is unknown."""
    minimum = settings.min_capacity_per_s
    if minimum is not None and capacity is not None and capacity >= minimum:
        return 0
    if ending == "saturated":
        return EXIT_INCONCLUSIVE
    if minimum is not None:
        return 1
    return 0


def _ends(step: Step) -> bool:
    """A step after which no higher rate can tell anything about the target."""
    if step.exit_code == EXIT_TARGET_OR_ENGINE:
        raise LoadlabError(
            f"the step at {_rate(step.rate_per_s)} failed to run (run {step.run_id})",
            hint="see that run's folder for the engine's log",
        )
    return step.generator_saturated


def _holds(step: Step) -> str:
    return step.failed[0].rsplit(" (", 1)[0] if step.failed else "every threshold"


def _measured(step: Step) -> str:
    return step.failed[0].rsplit(" (", 1)[1].rstrip(")") if step.failed else _why(step)


def _why(step: Step) -> str:
    return "; ".join(step.failed) or f"exit {step.exit_code}"


def _rate(rate: float | None) -> str:
    """Arrivals per second: each runs one task of the suite (one request in most suites)."""
    return "-" if rate is None else f"{rate:g}/s"


def _nice(rate: float, *, finer: bool = False) -> float:
    """Rounded to 2 significant digits (3 while narrowing), so steps read like a person's."""
    digits = 3 if finer else 2
    if rate <= 0:
        return rate
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(rate)))
    return math.floor(rate * scale + 0.5) / scale  # half up: 22.5 is 23
