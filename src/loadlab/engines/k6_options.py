"""A k6 script's options as k6 itself resolves them (`k6 inspect`), read before the run.

A script's options are JavaScript evaluated in k6's init context: a `thresholds` block before
`stages`, a quoted `"stages"` key, options built from environment variables. Only k6 reads them
all as the run will, so loadlab asks it instead of guessing from the text.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from loadlab.errors import UsageError

INSPECT_TIMEOUT_S = 30.0
# The target is not known yet when the plan is made; a script may refuse to load without one.
PLACEHOLDER_BASE_URL = "http://127.0.0.1:8000"


def script_options(binary: str, script: Path) -> dict[str, Any]:
    """The script's top-level options (`k6 inspect`'s JSON: every key, null when unset)."""
    try:
        mtime_ns = script.stat().st_mtime_ns
    except OSError:
        mtime_ns = 0  # k6 names the missing file itself
    return dict(_inspect(binary, script, mtime_ns))


# The plan reads the stages and the engine the thresholds' statistics, and a capacity search
# plans every step from the same script: one `k6 inspect` (~0.1-0.5 s) per script version.
@functools.lru_cache(maxsize=16)
def _inspect(binary: str, script: Path, _mtime_ns: int) -> dict[str, Any]:
    command = [binary, "inspect", "--log-format", "raw", "--no-color"]
    command += ["--include-system-env-vars"]  # as `k6 run` does by default
    if "BASE_URL" not in os.environ:
        command += ["-e", f"BASE_URL={PLACEHOLDER_BASE_URL}"]
    try:
        done = subprocess.run(
            [*command, str(script)],
            capture_output=True,
            text=True,
            timeout=INSPECT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"k6 inspect {script} did not finish within {INSPECT_TIMEOUT_S:g} s",
            hint="keep waits and network calls out of the script's init code",
        ) from None
    if done.returncode != 0:
        reason = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
        raise UsageError(
            f"k6 cannot load {script}: {reason or f'k6 inspect exited with {done.returncode}'}",
            hint=f"fix the script (k6 inspect {script} shows the same error)",
        )
    try:
        options = json.loads(done.stdout)
    except json.JSONDecodeError:
        options = None
    if not isinstance(options, dict):
        raise UsageError(
            f"k6 inspect {script} printed no options",
            hint="check the k6 binary: k6 version, then k6 inspect SCRIPT",
        )
    return options
