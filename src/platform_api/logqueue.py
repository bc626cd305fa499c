"""Logging that never blocks the server.

A file never blocks a writer for long, so a log file (or stderr redirected to a file) is written
directly and keeps every line up to the last. stderr that is a pipe or a terminal can block: if
nobody reads the pipe, a full buffer would stall every request that logs. There a log call only puts
the record on a bounded queue and one writer thread writes it; when the writer falls behind, records
are dropped and counted instead of stalling requests (the last lines before a kill may be lost).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import stat
import sys
from logging.handlers import QueueHandler, QueueListener

MAX_QUEUED_RECORDS = 10_000


class BackgroundHandler(QueueHandler):
    def __init__(self, target: logging.Handler) -> None:
        super().__init__(queue.Queue(MAX_QUEUED_RECORDS))
        self.dropped = 0
        self._listener = QueueListener(self.queue, target, respect_handler_level=True)
        self._listener.start()
        atexit.register(self._listener.stop)

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


def background_handler(filename: str | None = None, fmt: str = "%(message)s") -> logging.Handler:
    """A dictConfig factory (`"()"`): log to `filename`, or to stderr when it is None."""
    formatter = logging.Formatter(fmt)
    if filename:
        handler: logging.Handler = logging.FileHandler(filename)
        handler.setFormatter(formatter)
        return handler
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    return stream if _is_regular_file(sys.stderr) else BackgroundHandler(stream)


def _is_regular_file(stream: object) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
