"""Simulated generator hosts: Linux network namespaces on one bridge, each with its own address.

`generator_network(["master", "w1"])` makes a bridge in this (the root) namespace with the first
address of a private /24 used only here (10.213.N.0/24, N random per network), and one namespace
per name, joined to the bridge by a veth pair, with the next addresses. A target served in this
process on the bridge's address is reachable from every namespace. Everything is deleted on the
way out, whatever happened. Needs root (CAP_NET_ADMIN); `skip_reason()` says why not. Not a test
module itself.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field


@dataclass
class Network:
    bridge_address: str
    addresses: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # the namespace's end of its veth

    def run_in(self, name: str) -> list[str]:
        """The command prefix that runs a program inside namespace `name`."""
        return ["ip", "netns", "exec", self.namespaces[name]]

    def cut(self, name: str) -> None:
        """Take namespace `name`'s link down: its packets stop, its processes keep running."""
        _ip("-n", self.namespaces[name], "link", "set", self.links[name], "down")


def skip_reason() -> str | None:
    if shutil.which("ip") is None:
        return "network namespace tests need iproute2's `ip`"
    if os.geteuid() != 0:
        return "network namespace tests need root (CAP_NET_ADMIN)"
    probe = f"llprobe{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"network namespaces cannot be made here: {made.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


@contextlib.contextmanager
def generator_network(names: Sequence[str]) -> Iterator[Network]:
    tag = secrets.token_hex(3)
    subnet = f"10.213.{secrets.randbelow(250) + 1}"
    bridge = f"llb{tag}"
    network = Network(bridge_address=f"{subnet}.1")
    with contextlib.ExitStack() as undo:
        _ip("link", "add", bridge, "type", "bridge")
        undo.callback(_ip, "link", "del", bridge, check=False)
        _ip("addr", "add", f"{network.bridge_address}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for index, name in enumerate(names, start=2):
            namespace, outside, inside = f"ll{tag}{name}", f"llv{tag}{index}", f"lli{tag}{index}"
            _ip("netns", "add", namespace)
            undo.callback(_ip, "netns", "del", namespace, check=False)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            undo.callback(_ip, "link", "del", outside, check=False)
            _ip("link", "set", inside, "netns", namespace)
            _ip("link", "set", outside, "master", bridge, "up")
            _ip("-n", namespace, "addr", "add", f"{subnet}.{index}/24", "dev", inside)
            _ip("-n", namespace, "link", "set", inside, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            network.namespaces[name] = namespace
            network.addresses[name] = f"{subnet}.{index}"
            network.links[name] = inside
        yield network


def _ip(*args: str, check: bool = True) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
