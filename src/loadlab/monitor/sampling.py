"""The monitor's thread: one sample of every source per interval, on the run's clock.

Samples are taken on ticks `clock_start + k * interval_s`, the same seconds the client-side
timeline counts, so the two join on `t_s`. A tick missed because the machine was busy is skipped,
not caught up, so a slow read never turns into a burst of reads. A source that cannot be read
warns once through the run's `warn` (the terminal is progress.py's), unless the run has said
already that it will not have that source, and leaves its series empty; the run goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence

from loadlab.monitor.app import AppSampler, MetricsReader
from loadlab.monitor.config import MonitorConfig
from loadlab.monitor.database import PlatformDbSampler, PostgresSampler
from loadlab.monitor.health import SourceHealth
from loadlab.monitor.prometheus import Buckets
from loadlab.monitor.result import MonitorResult
from loadlab.monitor.system import SystemSampler, default_cores

_READ_TIMEOUT_S = 2.0


def _no_pids() -> Sequence[int]:
    return ()


class Monitor:
    """Samples the target, the host and the load generator in a daemon thread."""

    def __init__(
        self,
        config: MonitorConfig,
        *,
        clock_start: float,
        warn: Callable[[str], None],
        generator_pids: Callable[[], Sequence[int]] = _no_pids,
        announced: Collection[str] = (),
    ) -> None:
        """`announced`: sources whose absence the run has said already (sources.py's notice):
        their failure is kept in the result, not warned of again."""
        problems = config.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.config = config
        self._clock_start = clock_start
        self._generator_pids = generator_pids
        self._warn = warn
        self._announced = frozenset(announced)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: MonitorResult | None = None
        self._samples: list[dict[str, float | None]] = []
        self._counters: list[dict[str, float]] = []
        self._histograms: list[dict[str, Buckets]] = []
        self._healths: dict[str, SourceHealth] = {}
        self._app: AppSampler | None = None
        self._crash: str | None = None
        self._cores: float | None = None

    def start(self) -> None:
        """Return at once; the baselines and every sample are taken in the thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="loadlab-monitor", daemon=True)
        self._thread.start()

    @property
    def sampling(self) -> bool:
        """True from `start` until sampling ends (`stop`, or an internal error)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def covered_s(self) -> float:
        """How far past `clock_start` the samples taken so far reach (0.0 before the first)."""
        with self._lock:
            return float(self._samples[-1]["t_s"] or 0.0) if self._samples else 0.0

    @property
    def samples_taken(self) -> int:
        """How many samples so far: one per interval, fewer when a busy machine makes one late
        (a late sample covers the time since the one before)."""
        with self._lock:
            return len(self._samples)

    def stop(self) -> MonitorResult:
        """Stop sampling and return the result; calling it again returns the same result."""
        if self._result is not None:
            return self._result
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.interval_s + 3 * _READ_TIMEOUT_S + 5)
        with self._lock:
            sources = {name: health.summary() for name, health in self._healths.items()}
            if self._crash is not None:
                sources["monitor"] = self._crash
            samples = tuple(self._samples)
            # Cumulative readings are one longer than samples (the baseline comes first).
            keep = len(samples) + 1 if self._counters else 0
            self._result = MonitorResult(
                interval_s=self.config.interval_s,
                sources=sources,
                samples=samples,
                cores=self._cores or default_cores(self.config.target_pid),
                routes=self._app.routes() if self._app is not None else (),
                counters=tuple(self._counters[:keep]),
                histograms=tuple(self._histograms[:keep]),
            )
        return self._result

    def _run(self) -> None:
        sources: _Sources | None = None
        try:
            sources = _Sources(self.config, self._generator_pids)
            self._app = sources.app
            with self._lock:
                self._healths = sources.healths()
            # While the target surely runs, with all its workers started.
            self._cores = self.config.cores or default_cores(self.config.target_pid)
            last = time.monotonic()
            _, cumulative = sources.read(last, None)  # the baseline the first rates start from
            self._record(None, cumulative)
            while True:
                tick = self._next_tick()
                if self._stop.wait(max(0.0, tick - time.monotonic())):
                    break
                now = time.monotonic()
                row, cumulative = sources.read(now, now - last)
                last = now
                # A sample stands for its tick, so that the samples' seconds are the timeline's
                # however late a busy machine wakes this thread; rates use the real elapsed time.
                row["t_s"] = round(tick - self._clock_start, 3)
                self._record(row, cumulative)
        except Exception as exc:  # a bug here must not end the load test: record it and stop
            with self._lock:
                self._crash = f"sampling stopped after an internal error: {exc!r}"
            self._warn(f"monitor: {self._crash}")
        finally:
            if sources is not None:
                sources.close()

    def _next_tick(self) -> float:
        interval = self.config.interval_s
        elapsed = time.monotonic() - self._clock_start
        ticks = int(elapsed // interval) + 1
        return self._clock_start + ticks * interval

    def _record(
        self,
        row: dict[str, float | None] | None,
        cumulative: tuple[dict[str, float], dict[str, Buckets]],
    ) -> None:
        with self._lock:
            if row is not None:
                self._samples.append(row)
            self._counters.append(cumulative[0])
            self._histograms.append(cumulative[1])
            healths = list(self._healths.items())
        for name, health in healths:
            message = health.new_warning()
            if message is not None and name not in self._announced:
                self._warn(f"monitor ({name}): {message}")


class _Sources:
    """Every sampler of one run, read together once per interval."""

    def __init__(self, config: MonitorConfig, generator_pids: Callable[[], Sequence[int]]) -> None:
        self.reader = MetricsReader(config.base_url, config.metrics_path, _READ_TIMEOUT_S)
        self.system = SystemSampler(config.target_pid, generator_pids, config.base_url)
        self.app = AppSampler(self.reader.health, config.metrics_path)
        self.database = PlatformDbSampler()
        self.postgres: PostgresSampler | None = None
        if config.db_url is not None and config.db_url.startswith("postgres"):
            self.postgres = PostgresSampler(config.db_url, _READ_TIMEOUT_S)

    def healths(self) -> dict[str, SourceHealth]:
        found = {
            "app": self.reader.health,
            "system": self.system.health,
            "database": self.database.health,
        }
        if self.postgres is not None:
            found["postgres"] = self.postgres.health
        return found

    def read(
        self, now: float, dt_s: float | None
    ) -> tuple[dict[str, float | None], tuple[dict[str, float], dict[str, Buckets]]]:
        """One sample (dt_s None: the baseline, row not kept) and the cumulative readings."""
        scrape = self.reader.read()
        row: dict[str, float | None] = {"t_s": None}
        if dt_s is None:
            self.system.start(scrape)
        else:
            row.update(self.system.sample(dt_s, scrape))
        row.update(self.app.sample(now, scrape))
        row.update(self.database.sample(now, scrape, self.reader.health.message))
        app_counters, app_buckets = self.app.counters(scrape)
        db_counters, db_buckets = self.database.counters(scrape)
        counters = {**app_counters, **db_counters}
        if self.postgres is not None:
            row.update(self.postgres.sample(now))
            counters.update(self.postgres.counters())
        return row, (counters, {**app_buckets, **db_buckets})

    def close(self) -> None:
        self.reader.close()
        if self.postgres is not None:
            self.postgres.close()
