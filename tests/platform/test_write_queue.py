"""SQLite's write queue (platform_api.write_queue): one writer at a time, first in first out, on
one thread that goes from one write to the next without the event loop; a write that has not
started within its wait is refused (503) and never runs; one whose request went away is skipped.

Table-free unit tests on the queue itself, each on its own event loop; they wait on events, never
on elapsed time (the refusal waits until its 10 ms have passed, however long that takes)."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Iterator

import pytest

from platform_api.errors import DatabaseBusy
from platform_api.settings import Settings
from platform_api.write_queue import WriteQueue
from waiting import wait_for


def record(ran: list[str], name: str) -> str:
    ran.append(name)
    return name


@pytest.fixture
def writes() -> Iterator[WriteQueue]:
    queue = WriteQueue(wait_s=30)
    queue.start()
    try:
        yield queue
    finally:
        queue.close()


def test_writes_run_one_at_a_time_in_order_on_one_thread(writes: WriteQueue) -> None:
    running = 0
    most = 0
    order: list[int] = []
    threads: set[int] = set()

    def write(i: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        order.append(i)
        threads.add(threading.get_ident())
        running -= 1
        return i * 2

    async def main() -> list[int]:
        return await asyncio.gather(*(writes.run(functools.partial(write, i)) for i in range(50)))

    assert asyncio.run(main()) == [i * 2 for i in range(50)]
    assert order == list(range(50))
    assert most == 1
    assert len(threads) == 1
    assert threading.get_ident() not in threads


def test_an_error_reaches_its_own_writer_only(writes: WriteQueue) -> None:
    def fail() -> int:
        raise ValueError("constraint")

    async def main() -> tuple[BaseException | int, ...]:
        return tuple(
            await asyncio.gather(writes.run(fail), writes.run(lambda: 7), return_exceptions=True)
        )

    failed, succeeded = asyncio.run(main())
    assert isinstance(failed, ValueError)
    assert succeeded == 7


def test_a_write_that_cannot_start_in_time_is_refused_and_never_runs() -> None:
    # The first write has all the time it needs to start (a busy machine may take more than
    # 10 ms to hand it to the writer); the late one, queued behind it, has 10 ms.
    writes = WriteQueue(wait_s=30.0)
    writes.start()
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(30)
        return "first"

    async def main() -> tuple[BaseException | str, ...]:
        first = asyncio.ensure_future(writes.run(slow))
        await asyncio.to_thread(started.wait, 30)
        writes.wait_s = 0.01
        queued_at = time.monotonic()
        late = asyncio.ensure_future(writes.run(lambda: record(ran, "late")))
        over = queued_at + 0.02  # the late one's 10 ms are over
        await asyncio.to_thread(wait_for, lambda: time.monotonic() > over, 30, "its wait to end")
        release.set()
        return tuple(await asyncio.gather(first, late, return_exceptions=True))

    try:
        first, late = asyncio.run(main())
    finally:
        release.set()
        writes.close()
    assert first == "first"
    assert isinstance(late, DatabaseBusy)
    assert late.status_code == 503
    assert ran == []


def test_a_write_whose_request_went_away_is_skipped(writes: WriteQueue) -> None:
    release = threading.Event()
    started = threading.Event()
    ran: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(30)
        return "first"

    async def main() -> str:
        first = asyncio.ensure_future(writes.run(slow))
        await asyncio.to_thread(started.wait, 30)
        gone = asyncio.ensure_future(writes.run(lambda: record(ran, "gone")))
        await asyncio.sleep(0)  # queued
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        release.set()
        result = await first
        after = await writes.run(lambda: record(ran, "after"))
        return f"{result} {after}"

    try:
        assert asyncio.run(main()) == "first after"
    finally:
        release.set()
    assert ran == ["after"]


def test_a_writer_waits_up_to_20_s_by_default() -> None:
    """Long enough to absorb the seed's spawn burst of sign-ups, under clients' usual 30 s."""
    assert Settings().write_wait_s == 20.0
