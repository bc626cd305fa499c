"""Stopping what loadlab starts: each engine process and the embedded platform run in a session
(process group) of their own, so a stop reaches their children too and never anything else."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the group that `process` leads, at once; nothing to do when it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def stop_group(process: subprocess.Popen[bytes], *, grace_s: float) -> None:
    """SIGTERM, then SIGKILL after `grace_s`; the group is the one this process started."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    kill_group(process)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5.0)


def wait_or_kill(process: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    """The exit code, or None when the process had to be killed after `timeout_s`."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5.0)
        return None
