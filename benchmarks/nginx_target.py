"""nginx answering a tiny `/health` from a folder of its own: a target fast enough that the load
generator, not the target, is what a benchmark measures. Needs Debian's `nginx`. Not a benchmark
itself."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from platform_server import free_port  # noqa: E402
from process_harness import TestProcess  # noqa: E402
from waiting import wait_for  # noqa: E402

CONFIG = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
    uwsgi_temp_path {dir}; scgi_temp_path {dir};
    server {{
        listen {address}:{port};
        location / {{ return 200 '{{"status":"ok"}}'; }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(address: str, folder: Path) -> Iterator[str]:
    """nginx on `address` (a free port), its files in `folder`; yields its base URL."""
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(CONFIG.format(dir=folder, address=address, port=port))
    with TestProcess(
        ["nginx", "-c", str(config), "-g", "daemon off;"], folder / "logs", name="nginx"
    ):
        url = f"http://{address}:{port}"
        wait_for(lambda: _answers(url), 20, "nginx answering")
        yield url


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
