"""Start a throwaway InfluxDB 1.x (Debian's `influxd`) on free loopback ports, and always stop it.

Shared by the k6 `--out influxdb` test and loadlab's InfluxDB reporter tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from platform_server import free_port
from process_harness import TestProcess, started
from waiting import wait_for

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
    with started([INFLUXD, "run", "-config", str(config)], root, name="influxd") as process:
        yield InfluxServer(base_url, wait_for(lambda: _version(base_url, process), 30, "influxd"))


def _version(base_url: str, process: TestProcess) -> str | None:
    """influxd's version once /ping answers; None before."""
    assert process.popen.poll() is None, process.explain()
    try:
        response = httpx.get(f"{base_url}/ping", timeout=1)
    except httpx.TransportError:
        return None
    if response.status_code != 204:
        return None
    return response.headers.get("X-Influxdb-Version", "") or "unknown"
