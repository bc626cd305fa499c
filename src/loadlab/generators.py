"""Load generators beyond this machine: Locust workers on other hosts (`loadlab worker`).

`loadlab run --expect-workers N` makes the Locust master wait for N workers besides its own
local ones; it binds to loopback unless `--master-bind` names an address (Locust's master port
has no authentication: keep it on a private network). docs/distributed.md.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from loadlab.engines import ENGINES

DEFAULT_PORT = 5557  # Locust's own default, so `loadlab worker --master HOST` needs no port
DEFAULT_WAIT_S = 60.0


@dataclass(frozen=True)
class Generators:
    """Workers expected from other hosts, where the master listens, and how long it waits."""

    remote: int = 0
    bind_host: str = "127.0.0.1"
    bind_port: int | None = None  # None: a free loopback port (no remote workers)
    wait_s: float = DEFAULT_WAIT_S


def parse_address(text: str, *, flag: str) -> tuple[str, int]:
    """HOST[:PORT] (an IPv6 address in brackets), the port defaulting to Locust's 5557."""
    host, port = text.strip(), DEFAULT_PORT
    if host.startswith("["):
        inside, _, rest = host[1:].partition("]")
        host, port_text = inside, rest.removeprefix(":")
    elif host.count(":") == 1:
        host, port_text = host.split(":")
    else:
        port_text = ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{flag} {text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    if not host:
        raise ValueError(f"{flag} {text!r}: give a host, e.g. 10.0.0.5:5557")
    return host, port


def generators(
    engine: str, expect: int | None, bind: str | None, wait_s: float | None
) -> tuple[Generators, list[str]]:
    """The run's generators from its options, and every problem with them."""
    problems: list[str] = []
    given = [
        flag
        for flag, value in (
            ("--expect-workers", expect),
            ("--master-bind", bind),
            ("--expect-workers-max-wait", wait_s),
        )
        if value is not None
    ]
    if not given:
        return Generators(), problems
    chosen = ENGINES.get(engine)
    if chosen is None or not chosen.remote_workers:
        joining = " or ".join(name for name, other in ENGINES.items() if other.remote_workers)
        problems.append(f"{', '.join(given)}: generator hosts are for --engine {joining}")
        return Generators(), problems
    if expect is None or expect < 1:
        problems.append("--expect-workers N (at least 1) says how many remote workers to wait for")
        return Generators(), problems
    host, port = "127.0.0.1", DEFAULT_PORT
    if bind is not None:
        try:
            host, port = parse_address(bind, flag="--master-bind")
        except ValueError as error:
            problems.append(str(error))
        else:
            problems += _address_problems(bind, host)
    if wait_s is not None and wait_s <= 0:
        problems.append("--expect-workers-max-wait must be positive (seconds)")
    return Generators(expect, host, port, wait_s or DEFAULT_WAIT_S), problems


def _address_problems(bind: str, host: str) -> list[str]:
    if host in ("0.0.0.0", "::", "localhost"):
        return []
    try:
        ipaddress.ip_address(host)
    except ValueError as error:
        return [f"--master-bind {bind!r}: not an address of this machine ({error})"]
    return []
