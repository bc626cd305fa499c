"""Reading k6's per-request output: its RFC 3339 timestamps, in any zone, to epoch seconds; and
every line of a burst written faster than it is read."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import pytest

from loadlab.engines.k6 import EpochSeconds, PipeWatch, Point, _read_points


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        pytest.param("2026-11-25T12:06:18.431096368Z", 1795608378, id="utc-nanoseconds"),
        pytest.param("2026-11-25T12:06:18Z", 1795608378, id="utc-whole-second"),
        pytest.param("2026-11-25T13:06:18.5+01:00", 1795608378, id="east-of-utc"),
        pytest.param("2026-11-25T07:06:18.999-05:00", 1795608378, id="west-of-utc"),
    ],
)
def test_epoch_seconds(text: str, epoch: int) -> None:
    assert EpochSeconds()(text) == epoch


def test_cache_stays_small() -> None:
    parse = EpochSeconds()
    for second in range(1500):
        parse(f"2026-11-25T12:{second // 60 % 60:02d}:{second % 60:02d}.1Z")
    assert len(parse._cache) <= 1001


def test_a_burst_faster_than_the_reader_loses_nothing(tmp_path: Path) -> None:
    """200,000 requests' lines (each with the other metrics k6 writes beside it) written into a
    real FIFO as fast as a writer can, while the reader keeps up as it may: the pipe fills and
    the writer waits, and every request's point arrives."""
    pipe = tmp_path / "points.fifo"
    os.mkfifo(pipe)
    points: queue.SimpleQueue[Point | None] = queue.SimpleQueue()
    reader = threading.Thread(target=_read_points, args=(pipe, points, None))
    reader.start()
    requests = 200_000
    try:
        with open(pipe, "w", encoding="utf-8") as writer:
            for _ in range(requests // 1000):
                writer.write((NOISE + DURATION) * 1000)
    finally:
        reader.join(timeout=120)
    assert not reader.is_alive()
    counted = 0
    spans = []
    while (point := points.get(timeout=10)) is not None:
        if point[0] == "span":
            spans.append(point)
        else:
            counted += 1
    assert counted == requests
    # The first and the last response's times, last of all: 2026-12-04T02:07:50.1Z.
    assert spans == [("span", 1796350070.1, 1796350070.1)]


def test_the_span_is_the_first_and_the_last_response(tmp_path: Path) -> None:
    pipe = tmp_path / "points.fifo"
    os.mkfifo(pipe)
    points: queue.SimpleQueue[Point | None] = queue.SimpleQueue()
    reader = threading.Thread(target=_read_points, args=(pipe, points, None))
    reader.start()
    try:
        with open(pipe, "w", encoding="utf-8") as writer:
            writer.write(NOISE.replace("50.1Z", "49.9Z"))  # other metrics do not count
            for time in ("50.25Z", "51.000000001Z", "53.5Z"):
                writer.write(DURATION.replace("50.1Z", time))
    finally:
        reader.join(timeout=30)
    assert not reader.is_alive()
    got = []
    while (point := points.get(timeout=10)) is not None:
        got.append(point)
    assert [p[0] for p in got] == [1796350070, 1796350071, 1796350073, "span"]
    assert got[-1] == ("span", 1796350070.25, 1796350073.5)


def test_a_full_pipe_is_seen_and_a_quiet_one_is_not() -> None:
    """A real pipe, as k6's output finds it when the reader falls behind."""
    read_fd, write_fd = os.pipe()
    try:
        watch = PipeWatch()
        watch.opened(read_fd)
        assert watch.capacity >= 65536
        os.write(write_fd, DURATION.encode() * 10)
        watch.check(read_fd)
        assert not watch.full_seconds
        os.set_blocking(write_fd, False)
        with pytest.raises(BlockingIOError):  # noqa: PT012 - filled until the writer would wait
            while True:
                os.write(write_fd, DURATION.encode() * 100)
        watch.check(read_fd)
        assert len(watch.full_seconds) == 1
    finally:
        os.close(read_fd)
        os.close(write_fd)


@pytest.mark.parametrize(
    ("full_seconds", "load_s", "named"),
    [({1}, 10.0, False), ({1, 2}, 10.0, True), ({1, 2}, 60.0, False), ({1, 2, 3}, 60.0, True)],
)
def test_a_pipe_full_in_enough_seconds_is_saturation(
    full_seconds: set[int], load_s: float, named: bool
) -> None:
    watch = PipeWatch()
    watch.full_seconds = full_seconds
    assert bool(watch.saturation(load_s)) is named


_TAGS = '"tags":{"expected_response":"true","method":"GET","name":"/health","status":"200"}'
DURATION = (
    '{"metric":"http_req_duration","type":"Point","data":{"time":"2026-12-04T02:07:50.1Z",'
    f'"value":1.5,{_TAGS}}}}}\n'
)
NOISE = "".join(
    f'{{"metric":"{metric}","type":"Point","data":{{"time":"2026-12-04T02:07:50.1Z",'
    f'"value":1,{_TAGS}}}}}\n'
    for metric in ("http_reqs", "http_req_waiting", "http_req_blocked", "data_received")
)
