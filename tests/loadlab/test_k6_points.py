"""Reading k6's per-request output: its RFC 3339 timestamps, in any zone, to epoch seconds."""

from __future__ import annotations

import pytest

from loadlab.engines.k6 import EpochSeconds


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
