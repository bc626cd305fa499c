"""Rules shared by every test folder: honest skips, no leftover processes, one seeded database.

- In CI (`LOADLAB_REQUIRE_ALL=1`) every optional component must be present: a skip fails.
- Skips are summarised with one line per reason and a count; failures are printed last.
- The test process adopts every orphan its tests leave (a child subreaper), so the session can
  check that no process it started outlives the tests: one that does fails the run.
- loadlab's embedded platform copies one cached seeded database: every test process shares one
  cache, built once under loadlab's own file lock.
- The programs the tests start can be interrupted (SIGINT), however the suite itself was started.
- `-n auto` runs two test processes per core: most tests wait on time-boxed runs and servers, so
  one per core leaves the cores idle half the time.
"""

from __future__ import annotations

import collections
import ctypes
import os
import signal
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path

import psutil
import pytest

# Make the harness modules in tests/ (platform_server.py, process_harness.py, ...) importable.
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["pytester"]  # tests/test_harness_rules.py runs small sessions of its own

PR_SET_CHILD_SUBREAPER = 36
# Started by multiprocessing's spawn context the first time it is used, by design for the life of
# the process that used it (the in-thread platform's heavy pool): not something a test leaked.
LIFELONG_HELPERS = ("multiprocessing.resource_tracker",)
SHARED_CACHE = Path(tempfile.gettempdir()) / f"loadlab-tests-{os.getuid()}" / "cache"
# How long a process still ending when the tests end may take before it counts as left behind.
LEFTOVER_GRACE_S = 3.0
_skips: collections.Counter[str] = collections.Counter()


def pytest_configure(config: pytest.Config) -> None:
    os.environ["XDG_CACHE_HOME"] = str(SHARED_CACHE)
    # A shell without job control starts background commands (`make test &`, some CI runners)
    # with SIGINT ignored, and an ignored signal stays ignored in every child: the servers the
    # tests stop with SIGINT would then wait out each grace period. A handled signal is reset to
    # its default in a child, so handling it here gives every child Python's own Ctrl-C.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    config.stash[_children_before] = {p.pid for p in _children()}


_children_before = pytest.StashKey[set[int]]()


@pytest.hookimpl(optionalhook=True)  # without xdist (-p no:xdist) pytest knows no such hook
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Two test processes per core (PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set)."""
    if (given := os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "")).isdigit():
        return int(given)
    return (
        2 * len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else 2 * (os.cpu_count() or 1)
    )


def _children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if not any(name in " ".join(child.cmdline()) for name in LIFELONG_HELPERS):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and os.environ.get("LOADLAB_REQUIRE_ALL") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip: {_reason(report)}"
    return report


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips[_reason(report)] += 1


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind(pytestconfig: pytest.Config) -> Generator[None, None, None]:
    """Compares the process tree after the tests with the one before: nothing may remain."""
    yield
    before = pytestconfig.stash.get(_children_before, set())
    left = [p for p in _children() if p.pid not in before]
    _, alive = psutil.wait_procs(left, timeout=LEFTOVER_GRACE_S)
    names = []
    for process in alive:
        try:
            names.append(f"{process.pid} {' '.join(process.cmdline())[:200]}")
            process.kill()
        except psutil.NoSuchProcess:
            continue
    if names:
        pytest.fail("processes left behind by the tests (now killed):\n" + "\n".join(names))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skip reason; pytest's own short summary (the failures) follows it."""
    if not _skips:
        return
    terminalreporter.section("skipped, by reason")
    for reason, count in _skips.most_common():
        terminalreporter.write_line(f"{count:4d} skipped: {reason}")
