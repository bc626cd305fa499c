"""The one way tests wait: on a condition, with a timeout, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.05


def wait_for(condition: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """The first truthy value `condition` returns; AssertionError naming `what` after `timeout_s`.

    Exceptions from `condition` propagate: a condition that can fail while it waits (a connection
    refused before a server listens) catches what it expects itself.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(POLL_S)
