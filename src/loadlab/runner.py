"""One run from plan to verdict: target, monitor, engine, summary, reports and history.

The order matters and is the one in docs/architecture.md. Whatever happens (a failed engine, one or
two Ctrl-C), the engine and the embedded target are stopped and what was measured is written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from loadlab import __version__
from loadlab.clock import RunClock, iso
from loadlab.engines import (
    ENGINES,
    Engine,
    EngineContext,
    EngineResult,
    check_available,
    create_engine,
)
from loadlab.errors import Interrupted, LoadlabError
from loadlab.histograms import Arrivals, ClientResult, RunStats
from loadlab.history_config import HistorySettings
from loadlab.metrics import monitor_source
from loadlab.monitor import Monitor, MonitorConfig, MonitorResult
from loadlab.plan import RunPlan
from loadlab.progress import Progress
from loadlab.rates import planned_arrivals
from loadlab.reports import InfluxTarget, ReportError, write_reports
from loadlab.results import OpenModel, RunSummary, Target
from loadlab.run_history import RunHistory
from loadlab.sources import missing_sources, not_measured
from loadlab.stages import judged_window
from loadlab.target import TargetInfo, check_reachable, embedded_platform
from loadlab.thresholds import evaluate
from loadlab.units import Measured
from loadlab.verdict import decide

POLL_S = 0.25
# Past the planned time plus this, a run that has not ended is stopped, then killed.
OVERRUN_STOP_S = 60.0
OVERRUN_KILL_S = 150.0


@dataclass(frozen=True)
class RunOutcome:
    summary: RunSummary
    run_dir: Path
    report_problem: str | None = None
    influx_written: str | None = None  # where the results went, when --influxdb was given


class _Interrupts:
    """Ctrl-C once: stop the engine gracefully. Twice: kill it at once."""

    def __init__(self, progress: Progress) -> None:
        self.count = 0
        self.engine: Engine | None = None
        self._progress = progress

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1:
            self._progress.notice(
                "interrupted: stopping the engine and writing partial results "
                "(again to stop everything at once)"
            )
        else:
            self._progress.notice("interrupted again: stopping everything now")
        if self.engine is not None:
            self.engine.stop(force=self.count > 1)

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Interrupts]:
        previous = signal.signal(signal.SIGINT, self.handle)
        previous_term = signal.signal(signal.SIGTERM, self.handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
            signal.signal(signal.SIGTERM, previous_term)


def execute(
    plan: RunPlan,
    progress: Progress,
    *,
    influxdb: InfluxTarget | None = None,
    history: HistorySettings | None = None,
    target: TargetInfo | None = None,
) -> RunOutcome:
    """One run. `target`: one already running (a capacity search's embedded platform); without
    `history` the run is neither compared nor recorded (a capacity search's step)."""
    check_available(plan.engine)
    if plan.host is not None and target is None:
        check_reachable(plan.host)
    created = datetime.now(UTC)
    run_dir = new_run_dir(plan.results_dir, f"{created:%Y%m%d-%H%M%S}-{plan.scenario}")
    interrupts = _Interrupts(progress)
    started = (
        contextlib.nullcontext(target) if target else _target(plan, run_dir, progress, interrupts)
    )
    with interrupts.installed(), started as target:
        if interrupts.count:
            raise Interrupted("interrupted before the load started", hint="nothing was measured")
        skipped, announced = _not_measured(plan, target, progress)
        if plan.own_profile is not None:
            progress.notice(
                f"following {plan.own_profile}: it sets users and length "
                f"(the {plan.scenario} scenario's profile does not apply)"
            )
        summary = _run_engine(
            plan, target, run_dir, skipped, announced, interrupts=interrupts, progress=progress
        )
    return _finish(plan, summary, run_dir, influxdb, history)


@contextlib.contextmanager
def _target(
    plan: RunPlan, run_dir: Path, progress: Progress, interrupts: _Interrupts
) -> Iterator[TargetInfo]:
    if plan.host is not None:
        yield TargetInfo(base_url=plan.host, embedded=False, pid=plan.target_pid)
        return
    progress.message("starting the embedded platform...")

    def stop_grace_s() -> float:
        return 0.0 if interrupts.count > 1 else 10.0

    with embedded_platform(
        run_dir,
        seed_size=plan.seed_size,
        database_url=plan.db_url,
        stop_grace_s=stop_grace_s,
        announce=progress.message,
    ) as target:
        progress.message(f"platform ready at {target.base_url}")
        yield target


@dataclass(frozen=True)
class Run:
    """One run as every part sees it: the plan, its id (the folder's name), the target, the
    clock taken when load starts, and the presets' thresholds this run cannot measure."""

    plan: RunPlan
    run_dir: Path
    target: TargetInfo
    clock: RunClock
    not_measured: Mapping[str, str]

    @property
    def run_id(self) -> str:
        return self.run_dir.name


def _run_engine(
    plan: RunPlan,
    target: TargetInfo,
    run_dir: Path,
    skipped: Mapping[str, str],
    announced: frozenset[str],
    *,
    interrupts: _Interrupts,
    progress: Progress,
) -> RunSummary:
    # Load starts now: the engine, the monitor and the reports share this clock.
    run = Run(plan, run_dir, target, RunClock.now(), skipped)
    clock = run.clock
    stats = RunStats(clock.second_wall_s, warmup_s=plan.warmup_s)
    engine = create_engine(plan.engine, EngineContext(plan, target, run.run_id, run_dir, stats))
    monitor = Monitor(
        MonitorConfig(
            base_url=target.base_url,
            target_pid=target.pid or plan.target_pid,
            db_url=plan.db_url,
            interval_s=plan.sample_interval_s,
        ),
        clock_start=clock.second_monotonic_s,
        warn=progress.warning,
        generator_pids=engine.pids,
        announced=announced,
    )
    monitor.start()
    try:
        interrupts.engine = engine
        engine.start()
        if interrupts.count:  # a Ctrl-C while the engine was starting: honour it now
            engine.stop(force=interrupts.count > 1)
        _watch(engine, plan, stats, clock, progress)
        result = engine.finish()
    except BaseException:
        engine.stop(force=True)  # its processes live in their own sessions: never leave them
        raise
    finally:
        interrupts.engine = None
        monitor_result = monitor.stop()
        progress.close()
    return _summarize(run, stats, result, monitor_result, interrupted=interrupts.count > 0)


def _not_measured(
    plan: RunPlan, target: TargetInfo, progress: Progress
) -> tuple[dict[str, str], frozenset[str]]:
    """The presets' defaults this run cannot measure, said in one line before the load starts,
    and the monitor's sources that line has told the user are missing (not warned of again)."""
    missing = missing_sources(
        target.base_url,
        embedded=target.embedded,
        target_pid=target.pid or plan.target_pid,
        db_url=plan.db_url,
    )
    skipped = not_measured(plan.thresholds, missing)
    if not skipped:
        return skipped, frozenset()
    reasons = sorted(set(skipped.values()))
    progress.notice(
        f"not measured on this target ({'; '.join(reasons)}): "
        f"{', '.join(skipped)}; they will neither pass nor fail the run"
    )
    return skipped, frozenset(monitor_source(source) for source in missing)


def _watch(
    engine: Engine, plan: RunPlan, stats: RunStats, clock: RunClock, progress: Progress
) -> None:
    planned_s = plan.run_time_s
    while engine.poll():
        for notice in engine.notices():
            progress.notice(notice)
        elapsed_s = clock.elapsed_s()
        progress.update(elapsed_s, planned_s, stats.live())
        if plan.own_profile is None:  # else the suite's shape decides when the load ends
            if elapsed_s > planned_s + OVERRUN_KILL_S:
                engine.stop(force=True)
            elif elapsed_s > planned_s + OVERRUN_STOP_S:
                engine.stop(force=False)
        time.sleep(POLL_S)


def _summarize(
    run: Run,
    stats: RunStats,
    result: EngineResult,
    monitor_result: MonitorResult,
    *,
    interrupted: bool,
) -> RunSummary:
    plan, target = run.plan, run.target
    client = stats.finish()
    totals, endpoints = client.totals, client.endpoints
    steady_from_s, steady_to_s = judged_window(
        plan.stages, stats.load_started_s(), stats.load_ended_s()
    )
    aggregates = monitor_result.aggregates(steady_from_s, steady_to_s)
    open_model = _open_model(plan, client)
    thresholds = evaluate(
        plan.thresholds,
        totals=totals,
        endpoints=endpoints,
        aggregates=aggregates,
        not_measured=run.not_measured,
        open_model=open_model,
    ) + (() if interrupted else result.suite_results)
    generator_cpu = _generator_cpu(stats, aggregates.get("generator_max_process_cpu_percent_max"))
    verdict = decide(
        thresholds,
        engine_failure=result.message if result.failed and not interrupted else None,
        interrupted=interrupted,
        generator_cpu_percent_max=generator_cpu,
        generator_cores=ENGINES[plan.engine].generator_cores(),
        saturated_generators=result.saturation,
        host_cpu_percent=_value(aggregates.get("host_cpu_percent")),
        host_cores=float(os.cpu_count() or 1),
    )
    return RunSummary(
        run_id=run.run_id,
        scenario=plan.scenario,
        engine=plan.engine,
        started_at=run.clock.started_at(),
        finished_at=iso(time.time()),
        duration_s=client.duration_s,
        interrupted=interrupted,
        target=Target(
            host=target.base_url, embedded=target.embedded, pid=target.pid, database=target.database
        ),
        plan=plan.info(),
        totals=totals,
        endpoints=endpoints,
        errors=client.errors,
        timeline=client.timeline,
        monitor=monitor_result.to_data(steady_from_s, steady_to_s, aggregates),
        thresholds=thresholds,
        verdict=verdict,
        engine_outputs=result.outputs,
        loadlab_version=__version__,
        extra={
            "engine_exit_code": result.exit_code,
            "engine_requests": result.engine_requests,
            "engine_failures": result.engine_failures,
        },
        histograms=stats.encoded_histograms(),
        open_model=open_model,
        generators=result.workers,
    )


def _open_model(plan: RunPlan, client: ClientResult) -> OpenModel | None:
    if not plan.open_model:
        return None
    arrivals = client.arrivals or Arrivals()
    return OpenModel(
        planned=planned_arrivals(plan.rate_stages),
        started=arrivals.started,
        dropped=arrivals.dropped,
        late=arrivals.late,
        sent_per_s=arrivals.started / plan.run_time_s if plan.run_time_s else 0.0,
        service=client.service or client.totals,
        service_endpoints=client.service_endpoints,
    )


def _value(measured: Measured | None) -> float | None:
    return None if measured is None else measured.value


def _generator_cpu(stats: RunStats, monitored: Measured | None) -> float | None:
    """The busiest load-generator process: Locust's own report, or the monitor's psutil view."""
    known = [v for v in (stats.generator_cpu_percent_max, monitored and monitored.value) if v]
    return max(known) if known else None


def _finish(
    plan: RunPlan,
    summary: RunSummary,
    run_dir: Path,
    influxdb: InfluxTarget | None,
    settings: HistorySettings | None,
) -> RunOutcome:
    problem = None  # summary.json first: the json reporter writes it before any other output
    recorded = None if settings is None else RunHistory(plan.results_dir, settings)
    try:
        if recorded is not None:
            summary = recorded.judge(summary)  # compared with its baseline before any report
        try:
            write_reports(summary, run_dir, influxdb=influxdb)
        except ReportError as error:
            problem = f"{error}; {error.hint}" if error.hint else str(error)
        if recorded is not None:
            recorded.record(summary, run_dir)
    finally:
        if recorded is not None:
            recorded.close()
    history_problems = recorded.problems if recorded is not None else []
    problem = "; ".join(p for p in (problem, *history_problems) if p) or None
    written = influxdb.describe() if influxdb is not None and problem is None else None
    return RunOutcome(
        summary=summary, run_dir=run_dir, report_problem=problem, influx_written=written
    )


def new_run_dir(results_dir: Path, name: str) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(100):
        candidate = results_dir / (name if attempt == 0 else f"{name}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise LoadlabError(f"cannot create a run folder in {results_dir}", hint="clean up old results")
