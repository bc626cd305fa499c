"""The small protocol every load engine implements, and what a run hands to it.

An engine runs as subprocesses (importing Locust patches the interpreter with gevent), feeds the
run's `RunStats` while it runs, and reports how it ended.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from loadlab.errors import EngineError
from loadlab.results import GeneratorWorker, ThresholdResult

if TYPE_CHECKING:
    from loadlab.histograms import RunStats
    from loadlab.plan import RunPlan
    from loadlab.target import TargetInfo


@dataclass(frozen=True)
class EngineContext:
    plan: RunPlan
    target: TargetInfo
    run_id: str
    run_dir: Path
    stats: RunStats


@dataclass(frozen=True)
class EngineResult:
    """How the engine ended. `failed` is an engine failure (exit 3), not a failed threshold."""

    exit_code: int | None
    failed: bool
    message: str | None
    outputs: tuple[str, ...]
    engine_requests: int | None = None
    engine_failures: int | None = None
    # The suite's own thresholds as the engine judged them (k6's options.thresholds, a Locust
    # suite's environment.process_exit_code); they count in the verdict beside loadlab's.
    suite_results: tuple[ThresholdResult, ...] = ()
    workers: tuple[GeneratorWorker, ...] = ()  # Locust's worker processes, each on its own
    # What of the engine could not keep up (a Locust worker's or the master's CPU, k6 waiting on
    # the pipe to loadlab), in the verdict's words: counted as the load generator's saturation.
    saturation: tuple[str, ...] = ()


class Engine(Protocol):
    name: str

    def start(self) -> None:
        """Launch the engine's processes; returns at once."""

    def poll(self) -> bool:
        """Feed new measurements into the run's stats; True while the engine still runs."""

    def stop(self, *, force: bool) -> None:
        """Ask the engine to finish gracefully, or kill every process it started."""

    def finish(self) -> EngineResult:
        """Wait for the engine to exit, read its last measurements and outputs."""

    def pids(self) -> list[int]:
        """Process ids of the load generator, for the saturation check."""

    def notices(self) -> list[str]:
        """What the user must hear while the run goes on (a worker lost), once each."""


def find_binary(name: str, *, hint: str) -> str:
    """A console script beside this interpreter (the virtualenv) first, then PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise EngineError(f"{name} not found beside {sys.executable} or on PATH", hint=hint)
    return found


def suite_environment(context: EngineContext) -> dict[str, str]:
    """What the suites read: the target, the admin key, the seeded members' keys and the run id
    (also sent as a header)."""
    env = {**os.environ, "BASE_URL": context.target.base_url, "LOAD_TEST_RUN_ID": context.run_id}
    if context.target.admin_key:
        env["PLATFORM_ADMIN_API_KEY"] = context.target.admin_key
    if context.target.member_keys:  # a read-only run reads as these seeded members
        env["PLATFORM_API_KEYS"] = ",".join(context.target.member_keys)
    return env


def last_line(path: Path) -> str | None:
    """The last non-empty line of a log, the likeliest to say why a process failed."""
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return None
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else None
