"""Load engines by name: Locust and k6 behind one small `Engine` protocol.

Each engine class describes itself (binary and install hint; its suite's option, loadlab.toml key
and default; how many workers it runs and whether other hosts' may join; its generator cores; the
stages it cannot run; whether a suite sets its own load), so the command line, the configuration,
the plan and the runner hold no engine names; a third engine is a new module here and a row in
`ENGINES` (docs/architecture.md, Engines).
"""

from __future__ import annotations

from loadlab.engines.base import Engine, EngineContext, EngineResult, find_binary
from loadlab.engines.k6 import K6Engine
from loadlab.engines.locust import LocustEngine

ENGINES: dict[str, type[LocustEngine] | type[K6Engine]] = {"locust": LocustEngine, "k6": K6Engine}


def check_available(name: str) -> None:
    """Fail before the target starts when the engine's program is missing (exit 3)."""
    engine = ENGINES[name]
    find_binary(engine.binary, hint=engine.install_hint)


def create_engine(name: str, context: EngineContext) -> Engine:
    return ENGINES[name](context)


__all__ = [
    "ENGINES",
    "Engine",
    "EngineContext",
    "EngineResult",
    "K6Engine",
    "LocustEngine",
    "check_available",
    "create_engine",
]
