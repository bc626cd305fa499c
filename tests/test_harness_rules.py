"""The rules of tests/conftest.py hold: a leftover process fails the session, skips are counted by
reason, and in CI (LOADLAB_REQUIRE_ALL=1) a skip is a failure. Each case runs a small pytest
session of its own, with a copy of the real conftest, in a subprocess."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
Session = Callable[..., pytest.RunResult]
SUITE = """
import subprocess, sys
import pytest

def test_passes():
    assert True

@pytest.mark.parametrize("n", [1, 2, 3])
def test_skips(n):
    pytest.skip("no frobnicator here")

def test_skips_otherwise():
    pytest.skip("no widget either")
"""
LEAK = """
import subprocess, sys

def test_leaves_a_process_behind():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
"""


@pytest.fixture
def session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Session:
    def run(source: str, *, require_all: bool = False) -> pytest.RunResult:
        pytester.makeconftest(CONFTEST.read_text())
        pytester.makepyfile(test_inner=source)
        monkeypatch.setenv("LOADLAB_REQUIRE_ALL", "1" if require_all else "0")
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-rfE")

    return run


def test_skips_are_one_line_per_reason_with_a_count(session: Session) -> None:
    result = session(SUITE)
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines(["*skipped, by reason*", "*3 skipped: no frobnicator here"])
    result.stdout.fnmatch_lines(["*1 skipped: no widget either"])


def test_in_ci_a_skip_fails(session: Session) -> None:
    result = session(SUITE, require_all=True)
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(["*skipped in CI, where nothing may skip: no widget either*"])


def test_a_process_left_behind_fails_the_session(session: Session) -> None:
    result = session(LEAK)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*processes left behind by the tests (now killed)*", "*sleep(120)*"]
    )


def test_an_orphan_is_caught_too(session: Session) -> None:
    """A grandchild whose parent exited is adopted by the test process, so it is still seen."""
    source = LEAK.replace(
        'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])',
        "subprocess.run([sys.executable, '-c', "
        '\'import subprocess, sys; subprocess.Popen([sys.executable, "-c", '
        '"import time; time.sleep(121)"])\'], check=True)',
    )
    result = session(source)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*processes left behind*", "*sleep(121)*"])


INTERRUPTIBLE = """
import signal, subprocess, sys

def ignored(pid):
    with open(f"/proc/{pid}/status") as status:
        mask = next(line for line in status if line.startswith("SigIgn:")).split()[1]
    return int(mask, 16) & (1 << (signal.SIGINT - 1)) != 0

def test_a_child_can_be_interrupted():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not ignored(child.pid)
    finally:
        child.kill()
        child.wait()
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_children_can_be_interrupted_when_the_suite_was_started_ignoring_sigint(
    session: Session,
) -> None:
    """`make test &` in a shell without job control starts pytest with SIGINT ignored; without the
    conftest's fix every server a test stops with SIGINT would wait out its grace period."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the inner session
    try:
        result = session(INTERRUPTIBLE)
    finally:
        signal.signal(signal.SIGINT, previous)
    result.assert_outcomes(passed=1)
