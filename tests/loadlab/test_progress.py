"""The live progress line: what it says, and plain lines when not on a terminal."""

from __future__ import annotations

import io
import threading

import pytest

from loadlab.histograms import LiveView
from loadlab.progress import Progress, format_line


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        pytest.param(
            LiveView(3, 5, 12.5, 42.4, 200, 2),
            "12s/2m  users 5  12.5 req/s  p95 42ms  errors 1.00%  requests 200",
            id="running",
        ),
        pytest.param(
            LiveView(None, 0, 0.0, None, 0, 0),
            "12s/2m  users 0  0.0 req/s  p95 -  errors 0.00%  requests 0",
            id="nothing-yet",
        ),
    ],
)
def test_format_line(live: LiveView, expected: str) -> None:
    assert format_line(12.4, 120.0, live) == expected


def test_plain_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    progress.update(1.0, 10.0, LiveView(1, 1, 1.0, 1.0, 1, 0))
    progress.update(2.0, 10.0, LiveView(2, 1, 1.0, 1.0, 2, 0))  # too soon: not printed
    progress.message("done")
    assert stream.getvalue().splitlines() == [
        "1s/10s  users 1  1.0 req/s  p95 1ms  errors 0.00%  requests 1",
        "done",
    ]
    assert "\r" not in stream.getvalue()


def test_disabled_progress_prints_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(stream, enabled=False)
    progress.update(1.0, 10.0, LiveView(1, 1, 1.0, 1.0, 1, 0))
    progress.message("done")
    assert stream.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("enabled", [True, False], ids=["progress", "no-progress"])
def test_a_warning_from_the_monitor_ends_the_live_line_first(enabled: bool) -> None:
    """The monitor warns from its own thread: the line goes below the live one, never into it,
    and --no-progress does not silence it."""
    stream = _Terminal()
    progress = Progress(stream, enabled=enabled)
    progress.update(1.0, 10.0, LiveView(1, 1, 1.0, 1.0, 1, 0))
    monitor = threading.Thread(target=progress.warning, args=("monitor (app): no /metrics",))
    monitor.start()
    monitor.join()
    live = "\r\x1b[2K1s/10s  users 1  1.0 req/s  p95 1ms  errors 0.00%  requests 1\n"
    warned = "loadlab: warning: monitor (app): no /metrics\n"
    assert stream.getvalue() == (live + warned if enabled else warned)
