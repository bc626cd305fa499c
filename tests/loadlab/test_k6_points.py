"""Reading k6's per-request CSV output: the lines loadlab needs, whatever their neighbours, quoting
and split across the pipe's blocks; and every line of a burst written faster than it is read."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import pytest

from loadlab.engines import k6_points
from loadlab.engines.k6_points import Batch, Point, read_points

HEADER = (
    "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,"
    "name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata\n"
)
OK = "http_req_duration,1796350131,7.616639,,,,true,,GET,/health,HTTP/1.1,default,,200,,,u,,\n"
QUOTED = (
    'http_req_duration,1796350131,0.5,,,,true,,GET,"/a,""b",HTTP/1.1,default,,200,,,"/a,""b",,\n'
)
REFUSED = (
    "http_req_duration,1796350132,0.000000,,dial: connection refused,1212,false,,GET,"
    "http://127.0.0.1:1/x,,default,,0,,,http://127.0.0.1:1/x,,\n"
)
HTTP_500 = "http_req_duration,1796350132,3.0,,,,false,,POST,/w,HTTP/1.1,default,,500,,,u,,\n"
NOISE = (
    "http_reqs,1796350131,1.000000,,,,true,,GET,/health,HTTP/1.1,default,,200,,,u,,\n"
    "http_req_waiting,1796350131,7.5,,,,true,,GET,/health,HTTP/1.1,default,,200,,,u,,\n"
    "vus_max,1796350131,50,,,,,,,,,,,,,,,,\n"
    "iteration_duration,1796350131,8.1,,,,,,,,,default,,,,,,,\n"
)
VUS = "vus,1796350133,50.000000,,,,,,,,,,,,,,,,\n"
ITERATION = "iterations,1796350131,1.000000,,,,,,,,,default,,,,,,,\n"
DROPPED = "dropped_iterations,1796350131,3.000000,,,,,,,,,open_model,,,,,,,\n"


def points_of(text: str, *, open_model: bool = False, block: int = 1 << 20) -> list[Point]:
    wanted = k6_points._OPEN if open_model else k6_points._CLOSED
    read = _Chunks(text.encode(), block).read
    return [p for batch in k6_points._batches(read, wanted, None) for p in batch]


class _Chunks:
    """A pipe that returns at most `block` bytes a read, as a FIFO may."""

    def __init__(self, data: bytes, block: int) -> None:
        self._data, self._block = data, block

    def read(self, size: int) -> bytes:
        part = self._data[: min(size, self._block)]
        self._data = self._data[len(part) :]
        return part


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(OK, [(1796350131, "GET", "/health", 7.616639, False, None)], id="a-request"),
        pytest.param(QUOTED, [(1796350131, "GET", '/a,"b', 0.5, False, None)], id="quoted-name"),
        pytest.param(
            REFUSED,
            [(1796350132, "GET", "http://127.0.0.1:1/x", 0.0, True, "dial: connection refused")],
            id="network-error",
        ),
        pytest.param(HTTP_500, [(1796350132, "POST", "/w", 3.0, True, "HTTP 500")], id="http-500"),
        pytest.param(NOISE, [], id="other-metrics-skipped"),
        pytest.param(VUS, [("vus", 1796350133, 50)], id="vus"),
        pytest.param(ITERATION + DROPPED, [], id="arrivals-only-in-the-open-model"),
    ],
)
def test_the_lines_loadlab_reads(lines: str, expected: list[Point]) -> None:
    assert points_of(HEADER + NOISE + lines) == expected


def test_the_open_models_arrivals() -> None:
    assert points_of(HEADER + ITERATION + OK + DROPPED, open_model=True) == [
        ("arrivals", 1, 0),
        (1796350131, "GET", "/health", 7.616639, False, None),
        ("arrivals", 0, 3),
    ]


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_lines_split_across_blocks_are_read_whole(block: int) -> None:
    text = HEADER + (NOISE + OK + QUOTED + VUS) * 20
    assert points_of(text, block=block) == points_of(text)
    assert len(points_of(text, block=block)) == 60


def test_a_burst_faster_than_the_reader_loses_nothing(tmp_path: Path) -> None:
    """200,000 requests' lines written into a real FIFO as fast as a writer can, while the reader
    keeps up as it may: the pipe fills and the writer blocks, and every point arrives."""
    pipe = tmp_path / "points.fifo"
    os.mkfifo(pipe)
    points: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
    reader = threading.Thread(target=read_points, args=(pipe, points, None, False))
    reader.start()
    requests = 200_000
    try:
        with open(pipe, "wb") as writer:
            writer.write(HEADER.encode())
            for _ in range(requests // 1000):
                writer.write(((NOISE + OK) * 1000).encode())
    finally:
        reader.join(timeout=120)
    assert not reader.is_alive()
    counted = 0
    while (batch := points.get(timeout=10)) is not None:
        counted += len(batch)
    assert counted == requests
