"""The Locust plugin's load shape is loadlab's stage arithmetic, tested here without Locust."""

from __future__ import annotations

import pytest

from loadlab.results import Stage
from loadlab.stages import parse_stages, shape_tick

RAMP_HOLD_DOWN = (Stage(10.0, 100), Stage(20.0, 100), Stage(5.0, 0))


@pytest.mark.parametrize(
    ("stages", "elapsed_s", "expected"),
    [
        pytest.param(RAMP_HOLD_DOWN, 0.0, (100, 10.0), id="ramp-up"),
        pytest.param(RAMP_HOLD_DOWN, 15.0, (100, 20.0), id="hold-gets-the-fastest-rate"),
        pytest.param(RAMP_HOLD_DOWN, 31.0, (0, 20.0), id="ramp-down"),
        pytest.param(RAMP_HOLD_DOWN, 35.0, None, id="over"),
        pytest.param((Stage(1000.0, 1),), 0.0, (1, 0.01), id="slowest-rate-clamped"),
        pytest.param((), 0.0, None, id="no-stages"),
    ],
)
def test_shape_tick(
    stages: tuple[Stage, ...], elapsed_s: float, expected: tuple[int, float] | None
) -> None:
    assert shape_tick(stages, elapsed_s) == expected


def test_the_plugin_reads_the_stages_loadlab_writes() -> None:
    from loadlab.stages import format_stages

    assert parse_stages(format_stages(RAMP_HOLD_DOWN)) == RAMP_HOLD_DOWN


def test_the_plugin_copies_no_histogram_or_stage_code() -> None:
    from pathlib import Path

    import loadlab.locust_plugin

    plugin = Path(loadlab.locust_plugin.__file__).with_name("loadlab_plugin.py").read_text()
    assert "from loadlab.histograms import" in plugin
    assert "from loadlab.stages import" in plugin
    assert "HIGHEST_US =" not in plugin
