"""`loadlab worker`: Locust workers with loadlab's plugin on a generator host (docs/distributed.md).

It runs `locust --worker --processes N` (Locust forks the workers itself) against the master that a
`loadlab run ... --expect-workers` started elsewhere. The suite comes from the same path on this
host; the master refuses a worker whose suite differs from its own (the plugin compares hashes).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from loadlab.engines.base import find_binary
from loadlab.engines.locust import LocustEngine, plugin_path
from loadlab.errors import UsageError
from loadlab.generators import parse_address


def run_worker(master: str, processes: int | None, locustfile: str) -> int:
    try:
        host, port = parse_address(master, flag="--master")
    except ValueError as error:
        raise UsageError(str(error)) from None
    suite = Path(locustfile)
    if not suite.is_file():
        raise UsageError(
            f"--locustfile {locustfile} not found",
            hint="the worker runs the master's suite from the same path on this host",
        )
    if processes is not None and processes < 1:
        raise UsageError("--processes must be at least 1")
    binary = find_binary(LocustEngine.binary, hint=LocustEngine.install_hint)
    command = [
        binary, "-f", f"{suite.resolve()},{plugin_path()}", "--worker",
        "--master-host", host, "--master-port", str(port),
        "--processes", str(processes or os.cpu_count() or 1),
    ]  # fmt: skip
    # The plugin learns the run's options from the master's spawn message, after it is imported.
    env = {**os.environ, "LOADLAB_REMOTE_WORKER": "1"}
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:  # the terminal's Ctrl-C reached Locust too: let it stop
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
