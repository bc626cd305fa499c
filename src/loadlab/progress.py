"""What a run says on stderr while it runs: the live progress line (one rewritten line on a TTY,
plain lines otherwise), step messages, and the notices and warnings no option silences (a Ctrl-C
seen, thresholds that will not be measured, a monitor source that cannot be read). The end of a run
is printed by cli.py."""

from __future__ import annotations

import threading
import time
from typing import TextIO

from loadlab.histograms import LiveView
from loadlab.units import format_duration

PLAIN_EVERY_S = 5.0


class Progress:
    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._enabled = enabled
        self._last = 0.0
        self._dirty = False
        self._lock = threading.RLock()  # the monitor's thread warns while the main one updates

    def update(self, elapsed_s: float, planned_s: float, live: LiveView) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last < (1.0 if self._tty else PLAIN_EVERY_S):
            return
        self._last = now
        line = format_line(elapsed_s, planned_s, live)
        with self._lock:
            if self._tty:
                self._stream.write("\r\x1b[2K" + line)
                self._dirty = True
            else:
                self._stream.write(line + "\n")
            self._stream.flush()

    def notice(self, text: str) -> None:
        """A line the user must see whatever --no-progress says: "loadlab: <text>"."""
        with self._lock:
            self.close()
            self._stream.write(f"loadlab: {text}\n")
            self._stream.flush()

    def warning(self, text: str) -> None:
        """Something the run goes on without (a monitor source): "loadlab: warning: <text>"."""
        self.notice(f"warning: {text}")

    def message(self, text: str) -> None:
        if not self._enabled:
            return
        with self._lock:
            self.close()
            self._stream.write(text + "\n")
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._dirty:
                self._stream.write("\n")
                self._stream.flush()
                self._dirty = False


def format_line(elapsed_s: float, planned_s: float, live: LiveView) -> str:
    p95 = "-" if live.p95_ms is None else f"{live.p95_ms:.0f}ms"
    errors = 100.0 * live.failures / live.requests if live.requests else 0.0
    # Past the plan the engine is finishing (Locust's workers report, k6 stops its VUs).
    if planned_s <= 0:  # the suite's own shape: its length is not known in advance
        clock = f"{format_duration(int(elapsed_s))} (the suite's shape)"
    elif elapsed_s > planned_s:
        clock = f"{format_duration(planned_s)}/{format_duration(planned_s)} stopping"
    else:
        clock = f"{format_duration(int(elapsed_s))}/{format_duration(planned_s)}"
    return (
        f"{clock}  users {live.users}  "
        f"{live.rps:.1f} req/s  p95 {p95}  errors {errors:.2f}%  requests {live.requests}"
    )
