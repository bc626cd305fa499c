"""SQLite's writers, one at a time, on one thread that goes from one to the next by itself.

SQLite takes one write transaction at a time. The writers used to take turns at a lock on the
event loop: the holder released it only once its coroutine ran again after its thread's work,
and the next one started only once its coroutine ran, so every write cost two trips through the
event loop's queue on top of its own work. Under the seed's stress profile that queue was tens to
hundreds of milliseconds long, the lock went round ~15 times a second, and writers waiting past
`PLATFORM_WRITE_WAIT_S` were answered 503 while the database itself was idle most of the time.

Here the writers queue, first in first out, for one thread that runs each transaction (service and
commit, `deps.run_in_session`) and takes the next one straight away; the event loop only hands a
write in and receives its result. A waiting writer holds no thread. One that has not started
within `write_wait_s` is answered 503 with Retry-After (`DatabaseBusy`) without touching the
database; a request that goes away while queued is skipped; one that has started runs to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from platform_api.errors import DatabaseBusy

T = TypeVar("T")


@dataclass
class _Write(Generic[T]):
    call: Callable[[], T]
    context: contextvars.Context
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    deadline: float
    abandoned: threading.Event = field(default_factory=threading.Event)


class WriteQueue:
    """One writer thread per process (made by the lifespan; `close` drains and stops it)."""

    def __init__(self, *, wait_s: float) -> None:
        self.wait_s = wait_s
        self._queue: queue.SimpleQueue[_Write[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="platform-sqlite-writer")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` on the writer thread once the writers before it are done; 503 if it does
        not start within `wait_s`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        deadline = time.monotonic() + self.wait_s
        write = _Write(call, contextvars.copy_context(), loop, future, deadline)
        self._queue.put(write)
        try:
            return await write.future
        except asyncio.CancelledError:
            write.abandoned.set()  # skipped if not started; a started one runs to its end
            raise

    def _serve(self) -> None:
        while (write := self._queue.get()) is not None:
            if write.abandoned.is_set():
                continue
            if time.monotonic() > write.deadline:
                self._answer(write, None, DatabaseBusy())
                continue
            try:
                result = write.context.run(write.call)
            except BaseException as exc:  # delivered to the request, which raises it
                self._answer(write, None, exc)
            else:
                self._answer(write, result, None)

    @staticmethod
    def _answer(write: _Write[Any], result: Any, exc: BaseException | None) -> None:
        def settle() -> None:
            if write.future.done():  # cancelled: the request has gone
                return
            if exc is not None:
                write.future.set_exception(exc)
            else:
                write.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            write.loop.call_soon_threadsafe(settle)
