"""Start a throwaway InfluxDB 1.x (Debian's `influxd`) on free loopback ports, and always stop it.

Shared by the k6 `--out influxdb` test and loadlab's InfluxDB reporter tests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from platform_server import free_port

INFLUXD = shutil.which("influxd")
needs_influxd = pytest.mark.skipif(
    INFLUXD is None, reason="influxd is not installed (apt-get install -y influxdb)"
)


@dataclass(frozen=True)
class InfluxServer:
    base_url: str
    version: str  # from the X-Influxdb-Version header of /ping


def _config(root: Path, http_port: int, rpc_port: int, *, auth: bool) -> str:
    return f"""
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = {"true" if auth else "false"}
  log-enabled = false
"""


@contextmanager
def running_influxd(root: Path, *, auth: bool = False) -> Iterator[InfluxServer]:
    """influxd with its data, config and log under `root`; with `auth`, no user exists yet."""
    assert INFLUXD is not None, "guard the test with needs_influxd"
    http_port, rpc_port = free_port(), free_port()
    config = root / "influxdb.conf"
    config.write_text(_config(root, http_port, rpc_port, auth=auth))
    base_url = f"http://127.0.0.1:{http_port}"
    log = root / "influxd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [INFLUXD, "run", "-config", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield InfluxServer(base_url, _wait_ready(base_url, process, log))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"influxd exited with {process.returncode}: {log.read_text()}")
        try:
            response = httpx.get(f"{base_url}/ping", timeout=1)
            if response.status_code == 204:
                return response.headers.get("X-Influxdb-Version", "")
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"influxd did not answer /ping within 30 s: {log.read_text()}")
