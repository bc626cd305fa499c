"""One run from plan to verdict: target, monitor, engine, summary, reports and history.

The order matters and is the one in docs/architecture.md. Whatever happens (a failed engine, one or
two Ctrl-C), the engine and the embedded target are stopped and what was measured is written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from loadlab import __version__, history
from loadlab.clock import RunClock, iso
from loadlab.engines import Engine, EngineContext, EngineResult, check_available, create_engine
from loadlab.errors import EXIT_INTERRUPTED, Interrupted, LoadlabError
from loadlab.histograms import RunStats
from loadlab.monitor import SAMPLES_CSV, Monitor, MonitorConfig, MonitorResult, write_samples_csv
from loadlab.plan import RunPlan
from loadlab.progress import Progress
from loadlab.reports import InfluxTarget, ReportError, write_reports
from loadlab.results import RunSummary, Target
from loadlab.sources import missing_sources, not_measured
from loadlab.stages import judged_window
from loadlab.target import TargetInfo, check_reachable, embedded_platform
from loadlab.thresholds import evaluate
from loadlab.units import Measured
from loadlab.verdict import decide, threshold_lines, word

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
        self._progress.close()
        if self.count == 1:
            sys.stderr.write(
                "loadlab: interrupted: stopping the engine and writing partial results "
                "(again to stop everything at once)\n"
            )
        else:
            sys.stderr.write("loadlab: interrupted again: stopping everything now\n")
        sys.stderr.flush()
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
    plan: RunPlan, progress: Progress, *, influxdb: InfluxTarget | None = None
) -> RunOutcome:
    check_available(plan.engine)
    if plan.host is not None:
        check_reachable(plan.host)
    created = datetime.now(UTC)
    run_dir = _new_run_dir(plan.results_dir, f"{created:%Y%m%d-%H%M%S}-{plan.scenario}")
    run_id = run_dir.name  # the folder name: one id for the run, its results and the target
    interrupts = _Interrupts(progress)
    with interrupts.installed(), _target(plan, run_dir, progress, interrupts) as target:
        if interrupts.count:
            raise Interrupted("interrupted before the load started", hint="nothing was measured")
        skipped = _not_measured(plan, target)
        summary = _run_engine(plan, target, run_id, run_dir, interrupts, progress, skipped)
    return _finish(plan, summary, run_dir, influxdb)


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
        run_dir, seed_size=plan.seed_size, database_url=plan.db_url, stop_grace_s=stop_grace_s
    ) as target:
        progress.message(f"platform ready at {target.base_url}")
        yield target


def _run_engine(
    plan: RunPlan,
    target: TargetInfo,
    run_id: str,
    run_dir: Path,
    interrupts: _Interrupts,
    progress: Progress,
    skipped: dict[str, str],
) -> RunSummary:
    clock = RunClock.now()  # load starts now: the engine, the monitor and the reports share it
    stats = RunStats(clock.second_wall_s)
    engine = create_engine(plan.engine, EngineContext(plan, target, run_id, run_dir, stats))
    monitor = Monitor(
        MonitorConfig(
            base_url=target.base_url,
            target_pid=target.pid or plan.target_pid,
            db_url=plan.db_url,
            interval_s=plan.sample_interval_s,
        ),
        clock_start=clock.second_monotonic_s,
        generator_pids=engine.pids,
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
    write_samples_csv(monitor_result, run_dir / SAMPLES_CSV)
    return _summarize(
        plan, target, run_id, clock, stats, result, monitor_result, interrupts.count > 0, skipped
    )


def _not_measured(plan: RunPlan, target: TargetInfo) -> dict[str, str]:
    """The presets' defaults this run cannot measure, said in one line before the load starts."""
    missing = missing_sources(
        target.base_url,
        embedded=target.embedded,
        target_pid=target.pid or plan.target_pid,
        db_url=plan.db_url,
    )
    skipped = not_measured(plan.thresholds, missing)
    if skipped:
        reasons = sorted(set(skipped.values()))
        sys.stderr.write(
            f"loadlab: not measured on this target ({'; '.join(reasons)}): "
            f"{', '.join(skipped)}; they will neither pass nor fail the run\n"
        )
    return skipped


def _watch(
    engine: Engine, plan: RunPlan, stats: RunStats, clock: RunClock, progress: Progress
) -> None:
    planned_s = plan.run_time_s
    while engine.poll():
        elapsed_s = clock.elapsed_s()
        progress.update(elapsed_s, planned_s, stats.live())
        if elapsed_s > planned_s + OVERRUN_KILL_S:
            engine.stop(force=True)
        elif elapsed_s > planned_s + OVERRUN_STOP_S:
            engine.stop(force=False)
        time.sleep(POLL_S)


def _summarize(
    plan: RunPlan,
    target: TargetInfo,
    run_id: str,
    clock: RunClock,
    stats: RunStats,
    result: EngineResult,
    monitor_result: MonitorResult,
    interrupted: bool,
    skipped: dict[str, str],
) -> RunSummary:
    totals, endpoints, errors, timeline, duration_s = stats.finish()
    steady_from_s, steady_to_s = judged_window(
        plan.stages, stats.load_started_s(), stats.load_ended_s()
    )
    aggregates = monitor_result.aggregates(steady_from_s, steady_to_s)
    thresholds = evaluate(
        plan.thresholds,
        totals=totals,
        endpoints=endpoints,
        aggregates=aggregates,
        not_measured=skipped,
    )
    generator_cpu = _generator_cpu(stats, aggregates.get("generator_max_process_cpu_percent_max"))
    verdict = decide(
        thresholds,
        engine_failure=result.message if result.failed and not interrupted else None,
        interrupted=interrupted,
        generator_cpu_percent_max=generator_cpu,
        generator_cores=float(os.cpu_count() or 1) if plan.engine == "k6" else 1.0,
    )
    return RunSummary(
        run_id=run_id,
        scenario=plan.scenario,
        engine=plan.engine,
        started_at=clock.started_at(),
        finished_at=iso(time.time()),
        duration_s=duration_s,
        interrupted=interrupted,
        target=Target(
            host=target.base_url, embedded=target.embedded, pid=target.pid, database=target.database
        ),
        plan=plan.info(),
        totals=totals,
        endpoints=endpoints,
        errors=errors,
        timeline=timeline,
        monitor=monitor_result.to_data(steady_from_s, steady_to_s),
        thresholds=thresholds,
        verdict=verdict,
        engine_outputs=result.outputs,
        loadlab_version=__version__,
        extra={
            "engine_exit_code": result.exit_code,
            "engine_requests": result.engine_requests,
            "engine_failures": result.engine_failures,
        },
    )


def _generator_cpu(stats: RunStats, monitored: Measured | None) -> float | None:
    """The busiest load-generator process: Locust's own report, or the monitor's psutil view."""
    known = [v for v in (stats.generator_cpu_percent_max, monitored and monitored.value) if v]
    return max(known) if known else None


def _finish(
    plan: RunPlan, summary: RunSummary, run_dir: Path, influxdb: InfluxTarget | None
) -> RunOutcome:
    summary.write(run_dir)
    problem = None
    try:
        write_reports(summary, run_dir, influxdb=influxdb)
    except ReportError as error:
        problem = f"{error}; {error.hint}" if error.hint else str(error)
    history.append(plan.results_dir, summary, run_dir)
    written = influxdb.describe() if influxdb is not None and problem is None else None
    return RunOutcome(
        summary=summary, run_dir=run_dir, report_problem=problem, influx_written=written
    )


def print_verdict(outcome: RunOutcome) -> None:
    summary = outcome.summary
    totals = summary.totals
    p95 = "-" if totals.p95_ms is None else f"{totals.p95_ms:.1f} ms"
    print(
        f"{summary.engine} {summary.scenario}: {totals.requests} requests, "
        f"{totals.failures} failed, "
        f"{totals.rps:.1f} req/s, p95 {p95} over {summary.duration_s:g}s"
    )
    for line in threshold_lines(summary.thresholds):
        print(line)
    verdict = summary.verdict
    print(f"verdict: {word(verdict.exit_code)} (exit {verdict.exit_code}): {verdict.reason}")
    print(f"results: {outcome.run_dir}")
    if outcome.influx_written:
        print(f"influxdb: results written to {outcome.influx_written}")
    if outcome.report_problem:
        print(f"loadlab: warning: {outcome.report_problem}", file=sys.stderr)
    if summary.verdict.exit_code == EXIT_INTERRUPTED:
        print("interrupted: partial results written", file=sys.stderr)


def _new_run_dir(results_dir: Path, name: str) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(100):
        candidate = results_dir / (name if attempt == 0 else f"{name}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise LoadlabError(f"cannot create a run folder in {results_dir}", hint="clean up old results")
