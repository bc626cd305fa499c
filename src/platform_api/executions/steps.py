"""The step runners: what each step type does to the text flowing through a workflow.

Costs are real but bounded: an `llm` step burns CPU in proportion to its tokens and a `sleep` step
really waits, so a load test that runs executions measures something repeatable. Token counts are
deterministic (seeded by the execution id), so one execution always costs the same.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PRICE_PER_1K_TOKENS_USD = {"small": 0.0005, "medium": 0.003, "large": 0.015}
HASH_ROUNDS_PER_TOKEN = 16
MAX_STEP_OUTPUT_CHARS = 1000
WORDS = (
    "the", "platform", "answers", "every", "request", "while", "the", "queue", "drains",
    "and", "workers", "claim", "leases", "renew", "them", "and", "finish", "exactly", "once",
)  # fmt: skip


class StepFailed(Exception):
    """A step could not complete; the execution fails with this message."""


class StepInterrupted(Exception):
    """The worker is stopping or lost its lease; the execution must not be finished here."""


@dataclass(frozen=True)
class StepOutcome:
    text: str
    tokens: int = 0
    cost_usd: float = 0.0
    model: str | None = None


class StepRunner:
    """Runs one execution's steps; `keep_going` renews the lease and says whether to continue."""

    def __init__(
        self, execution_id: str, stop: threading.Event, keep_going: Callable[[], bool]
    ) -> None:
        self.execution_id = execution_id
        self.stop = stop
        self.keep_going = keep_going

    def run(self, index: int, step: dict[str, Any], text: str) -> StepOutcome:
        kind = step.get("type")
        if kind == "transform":
            return StepOutcome(transform(step["operation"], text))
        if kind == "llm":
            return simulate_llm(self.execution_id, index, step, text)
        if kind == "sleep":
            self._sleep(float(step["seconds"]))
            return StepOutcome(text)
        if kind == "fail":
            raise StepFailed(str(step.get("message") or "Step failed on purpose"))
        raise StepFailed(f"Unknown step type {kind!r}")

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + min(seconds, 5.0)
        while (left := deadline - time.monotonic()) > 0:
            # Wake up in time to renew the lease, and at once when the worker stops.
            if self.stop.wait(min(left, 0.25)):
                raise StepInterrupted("the worker is stopping")
            if not self.keep_going():
                raise StepInterrupted("the lease was lost")


def transform(operation: str, text: str) -> str:
    if operation == "uppercase":
        return text.upper()
    if operation == "lowercase":
        return text.lower()
    if operation == "reverse":
        return text[::-1]
    if operation == "sha256":
        return hashlib.sha256(text.encode()).hexdigest()
    if operation == "word_count":
        return str(len(text.split()))
    raise StepFailed(f"Unknown transform operation {operation!r}")


def count_tokens(text: str) -> int:
    return math.ceil(len(text.split()) * 1.3)


def simulate_llm(execution_id: str, index: int, step: dict[str, Any], text: str) -> StepOutcome:
    """Prompt tokens from the words, a seeded output length capped by max_tokens, a priced total."""
    model = str(step["model"])
    max_tokens = int(step["max_tokens"])
    prompt_tokens = count_tokens(f"{step['prompt']}\n{text}")
    rng = random.Random(f"{execution_id}:{index}")
    output_tokens = rng.randint(max(1, max_tokens // 4), max_tokens)
    tokens = prompt_tokens + output_tokens
    _burn(tokens, seed=f"{execution_id}:{index}".encode())
    words = [rng.choice(WORDS) for _ in range(max(1, math.ceil(output_tokens / 1.3)))]
    cost = round(tokens * PRICE_PER_1K_TOKENS_USD[model] / 1000, 8)
    return StepOutcome(" ".join(words), tokens=tokens, cost_usd=cost, model=model)


def _burn(tokens: int, *, seed: bytes) -> None:
    digest = seed
    for _ in range(min(tokens, 50_000) * HASH_ROUNDS_PER_TOKEN):
        digest = hashlib.sha256(digest).digest()


def clip(text: str) -> str:
    return text if len(text) <= MAX_STEP_OUTPUT_CHARS else text[:MAX_STEP_OUTPUT_CHARS] + "…"
