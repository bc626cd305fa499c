"""Reading k6's per-request output as k6 writes it: `--out csv=` into a named pipe.

CSV, not JSON: k6 stamps each CSV line with its whole unix second (the timeline's unit), and a
line splits in a fraction of the time a JSON line parses, so the reader keeps up with k6 at its
full speed on the same cores (docs/benchmarks.md). Of the dozen lines k6 writes for each
request, loadlab needs one, `http_req_duration` (and `vus`; in an open-model run `iterations` and
`dropped_iterations`): a regular expression finds those in each block read from the pipe, so the
others are skipped in C, never looked at one by one. Points reach the main thread in batches, one
list per block.
"""

from __future__ import annotations

import csv
import queue
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

# (epoch second, method, name, duration ms, failed, error), ("vus", epoch second, users), or in
# an open-model run ("arrivals", iterations started, arrivals dropped)
Point = tuple[int, str, str, float, bool, str | None] | tuple[str, int, int]
Batch = list[Point]

BLOCK_BYTES = 1 << 20
TIME_FORMAT = {"K6_CSV_TIME_FORMAT": "unix"}  # whole seconds, whatever the user's environment says
_CLOSED = re.compile(rb"^(http_req_duration|vus),(.*)$", re.MULTILINE)
_OPEN = re.compile(rb"^(http_req_duration|vus|iterations|dropped_iterations),(.*)$", re.MULTILINE)


class Columns:
    """Where each field is in a line after its metric name, from k6's header line."""

    def __init__(self, header: str) -> None:
        names = header.strip().split(",")[1:]  # the first is metric_name, matched apart
        position = {name: index for index, name in enumerate(names)}
        self.time = position["timestamp"]
        self.value = position["metric_value"]
        self.error = position.get("error")
        self.expected = position.get("expected_response")
        self.method = position.get("method")
        self.name = position.get("name")
        self.status = position.get("status")


def read_points(
    pipe: Path, points: queue.SimpleQueue[Batch | None], raw: Path | None, open_model: bool
) -> None:
    """Until k6 closes the pipe; then None. `raw`: every duration also to a file (tests)."""
    raw_file: IO[str] | None = open(raw, "w") if raw else None  # noqa: SIM115
    wanted = _OPEN if open_model else _CLOSED
    try:
        with open(pipe, "rb", buffering=0) as stream:
            for batch in _batches(stream.read, wanted, raw_file):
                points.put(batch)
    finally:
        if raw_file is not None:
            raw_file.close()
        points.put(None)


def _batches(
    read: Callable[[int], bytes], wanted: re.Pattern[bytes], raw: IO[str] | None
) -> Iterator[Batch]:
    columns: Columns | None = None
    rest = b""
    while chunk := read(BLOCK_BYTES):
        block = rest + chunk
        end = block.rfind(b"\n") + 1
        block, rest = block[:end], block[end:]
        if columns is None:
            if not end:
                continue  # the header is not complete yet
            first = block.index(b"\n") + 1
            columns = Columns(block[:first].decode())
            block = block[first:]
        batch = [point for match in wanted.finditer(block) for point in _point(match, columns)]
        if raw is not None:
            raw.writelines(
                f"{p[1]}\t{p[2]}\t{p[3]!r}\t{int(bool(p[4]))}\n" for p in batch if len(p) == 6
            )
        if batch:
            yield batch


def _point(match: re.Match[bytes], columns: Columns) -> Iterator[Point]:
    metric, text = match.group(1), match.group(2).decode()
    fields = next(csv.reader([text])) if '"' in text else text.split(",")
    if metric == b"http_req_duration":
        failed = _field(fields, columns.expected) == "false"
        error = _field(fields, columns.error) or None
        if failed and error is None:
            error = f"HTTP {_field(fields, columns.status) or '?'}"
        yield (
            int(fields[columns.time]),
            _field(fields, columns.method),
            _field(fields, columns.name),
            float(fields[columns.value]),
            failed,
            error,
        )
    elif metric == b"vus":
        yield ("vus", int(fields[columns.time]), int(float(fields[columns.value])))
    elif metric == b"iterations":
        yield ("arrivals", 1, 0)
    else:  # dropped_iterations
        yield ("arrivals", 0, int(float(fields[columns.value])))


def _field(fields: list[str], index: int | None) -> str:
    return fields[index] if index is not None and index < len(fields) else ""
