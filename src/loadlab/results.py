"""The one immutable result of a run, and its `summary.json` form.

Every report reads a `RunSummary`; none re-reads engine files. The JSON layout is documented in
docs/results-schema.md and checked by src/loadlab/schema/summary.schema.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from loadlab.comparison_result import Comparison

SCHEMA_VERSION = 2
# Version 1 kept error rates as 0..1 (totals, endpoints, the server_error_rate series); version 2
# has one scale per name, percent 0..100. `from_dict` still reads version 1, converting it.
READABLE_VERSIONS = (1, 2)
SUMMARY_FILE = "summary.json"

_T = TypeVar("_T")

# inconclusive: too few requests to support the claim (exit 5 when nothing failed);
# not_measured: a preset's default that needs a source this run does not have (never a pass).
ThresholdStatus = Literal["pass", "fail", "no_data", "inconclusive", "not_measured"]


@dataclass(frozen=True)
class Stage:
    duration_s: float
    target: int


@dataclass(frozen=True)
class RateStage:
    """Open-model load: arrivals per second ramping linearly from `from_per_s` to `to_per_s`."""

    duration_s: float
    from_per_s: float
    to_per_s: float


@dataclass(frozen=True)
class Target:
    host: str
    embedded: bool
    pid: int | None = None
    database: str | None = None


@dataclass(frozen=True)
class PlanInfo:
    users: int
    spawn_rate: float
    run_time_s: float
    stages: tuple[Stage, ...]
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    script: str = ""
    workers: int = 1
    profile: str = "stages"  # or the suite's own shape, which loadlab followed, or "arrival rate"
    rate_stages: tuple[RateStage, ...] = ()  # the open model's (docs/capacity.md)
    max_in_flight: int = 0
    remote_workers: int = 0  # Locust workers from other hosts (docs/distributed.md)


@dataclass(frozen=True)
class LatencyStats:
    """Request counts and latency percentiles of one endpoint, or of all of them."""

    requests: int
    failures: int
    error_rate: float
    rps: float
    mean_ms: float | None
    min_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p999_ms: float | None


@dataclass(frozen=True)
class EndpointStats(LatencyStats):
    method: str = ""
    name: str = ""


@dataclass(frozen=True)
class OpenModel:
    """An open-model run's arrivals, and its latency counted from the moment each request was
    sent (`service`); the run's totals and endpoints count from the moment it was due."""

    planned: int  # arrivals the rate stages ask for over their whole length
    started: int  # arrivals that began an iteration of the suite
    dropped: int  # came due with max_in_flight arrivals in progress: never sent
    late: int  # started more than LATE_MS after they were due (counted from due all the same)
    sent_per_s: float  # started / the planned length of the rate stages
    service: LatencyStats
    service_endpoints: tuple[EndpointStats, ...] = ()

    @property
    def dropped_rate(self) -> float:
        """Dropped arrivals, percent of those that came due."""
        due = self.started + self.dropped
        return 100.0 * self.dropped / due if due else 0.0


@dataclass(frozen=True)
class ErrorGroup:
    method: str
    name: str
    message: str
    occurrences: int


@dataclass(frozen=True)
class TimelinePoint:
    t_s: int
    users: int
    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class MonitorData:
    interval_s: float
    sources: dict[str, str]
    samples: tuple[dict[str, float | None], ...]
    summary: dict[str, float | None]


@dataclass(frozen=True)
class ThresholdResult:
    expression: str
    metric: str
    endpoint: str | None
    operator: str
    limit: float
    unit: str
    measured: float | None
    status: ThresholdStatus
    detail: str | None = None
    # "loadlab", or the engine that judged the suite's own threshold ("k6", "locust")
    source: str = "loadlab"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    exit_code: int
    reason: str
    generator_saturated: bool = False
    generator_cpu_percent_max: float | None = None


@dataclass(frozen=True)
class GeneratorWorker:
    """One Locust worker process of the run, local or on a generator host (docs/distributed.md)."""

    index: int  # Locust's worker index
    worker: str  # Locust's client id
    host: str  # the generator host's name, as the worker gave it
    requests: int
    failures: int
    cpu_percent_mean: float | None  # of its one core, from Locust's heartbeats
    cpu_percent_max: float | None
    saturated: bool  # its busiest moment past SATURATION_PERCENT of its core
    # The master's clock minus the worker's (seconds), measured at each report; its requests are
    # put in the master's seconds of the timeline by this much.
    clock_offset_s: float = 0.0
    lost_at_s: float | None = None  # seconds into the run when its heartbeats stopped


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    scenario: str
    engine: str
    started_at: str
    finished_at: str
    duration_s: float
    interrupted: bool
    target: Target
    plan: PlanInfo
    totals: LatencyStats
    endpoints: tuple[EndpointStats, ...]
    errors: tuple[ErrorGroup, ...]
    timeline: tuple[TimelinePoint, ...]
    monitor: MonitorData
    thresholds: tuple[ThresholdResult, ...]
    verdict: Verdict
    engine_outputs: tuple[str, ...] = ()
    loadlab_version: str = ""
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    # `--label key=value` and the git commit; each endpoint's HdrHistogram, encoded, keyed
    # "METHOD name" ("*" for all requests); the comparison with the baseline (docs/baselines.md).
    labels: dict[str, str] = field(default_factory=dict)
    histograms: dict[str, str] = field(default_factory=dict, repr=False)
    comparison: Comparison | None = None
    open_model: OpenModel | None = None
    generators: tuple[GeneratorWorker, ...] = ()  # Locust's workers; empty on k6

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, run_dir: Path) -> Path:
        """Write `summary.json` atomically, so a reader never sees half a file."""
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / SUMMARY_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        version = data.get("schema_version")
        if data.get("kind") == "capacity":
            raise ValueError(
                "this summary.json is a capacity search's (docs/capacity.md), not a run's; its "
                "report.html is there already, and each step's run folder is under steps/"
            )
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f"summary schema_version {version!r} is not one of "
                f"{', '.join(map(str, READABLE_VERSIONS))}; re-run the test with this loadlab"
            )
        if version == 1:
            data = _from_version_1(data)
        plan = dict(data["plan"])
        plan["stages"] = tuple(Stage(**s) for s in plan["stages"])
        plan["tags"] = tuple(plan.get("tags", ()))
        plan["exclude_tags"] = tuple(plan.get("exclude_tags", ()))
        plan["rate_stages"] = tuple(RateStage(**s) for s in plan.get("rate_stages", ()))
        open_model = data.get("open_model")
        monitor = dict(data["monitor"])
        monitor["samples"] = tuple(monitor.get("samples", ()))
        return cls(
            run_id=data["run_id"],
            scenario=data["scenario"],
            engine=data["engine"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            duration_s=data["duration_s"],
            interrupted=data["interrupted"],
            target=Target(**data["target"]),
            plan=PlanInfo(**plan),
            totals=_build(LatencyStats, data["totals"]),
            endpoints=tuple(_build(EndpointStats, e) for e in data["endpoints"]),
            errors=tuple(ErrorGroup(**e) for e in data["errors"]),
            timeline=tuple(TimelinePoint(**p) for p in data["timeline"]),
            monitor=MonitorData(**monitor),
            thresholds=tuple(ThresholdResult(**t) for t in data["thresholds"]),
            verdict=Verdict(**data["verdict"]),
            engine_outputs=tuple(data.get("engine_outputs", ())),
            loadlab_version=data.get("loadlab_version", ""),
            schema_version=SCHEMA_VERSION,
            extra=data.get("extra", {}),
            labels=dict(data.get("labels", {})),
            histograms=dict(data.get("histograms", {})),
            comparison=None
            if data.get("comparison") is None
            else Comparison.from_dict(data["comparison"]),
            open_model=None if open_model is None else _open_model(open_model),
            generators=tuple(GeneratorWorker(**w) for w in data.get("generators", ())),
        )

    @classmethod
    def read(cls, run_dir: Path) -> RunSummary:
        path = run_dir / SUMMARY_FILE
        return cls.from_dict(json.loads(path.read_text()))


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1's 0..1 error rates (unit "rate") as version 2's percent; nothing else changed."""

    def percent(stats: dict[str, Any]) -> dict[str, Any]:
        return {**stats, "error_rate": 100.0 * float(stats.get("error_rate") or 0.0)}

    monitor = dict(data["monitor"])
    monitor["samples"] = [
        {
            **row,
            "server_error_rate": None
            if row.get("server_error_rate") is None
            else 100.0 * row["server_error_rate"],
        }
        if "server_error_rate" in row
        else row
        for row in monitor.get("samples", ())
    ]

    def threshold(result: dict[str, Any]) -> dict[str, Any]:
        if result.get("unit") != "rate":
            return result
        measured = result.get("measured")
        return {
            **result,
            "unit": "percent",
            "limit": 100.0 * result["limit"],
            "measured": None if measured is None else 100.0 * measured,
        }

    return {
        **data,
        "thresholds": [threshold(t) for t in data["thresholds"]],
        "totals": percent(data["totals"]),
        "endpoints": [percent(e) for e in data["endpoints"]],
        "monitor": monitor,
    }


def _open_model(data: dict[str, Any]) -> OpenModel:
    return OpenModel(
        **{k: v for k, v in data.items() if k not in ("service", "service_endpoints")},
        service=_build(LatencyStats, data["service"]),
        service_endpoints=tuple(_build(EndpointStats, e) for e in data["service_endpoints"]),
    )


def _build(kind: type[_T], data: dict[str, Any]) -> _T:
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    return kind(**{k: v for k, v in data.items() if k in names})
