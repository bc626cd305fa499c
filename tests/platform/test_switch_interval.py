"""The GIL switch interval (`PLATFORM_GIL_SWITCH_INTERVAL_MS`): set while the app runs, the
interpreter's own value back when it stops, refused outside 0..100. The platform runs in this
process (`serving_platform`), so the interpreter's value is read directly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from platform_api.settings import Settings
from platform_server import serving_platform


@pytest.mark.parametrize(("setting", "expected_s"), [("2", 0.002), ("0", None)], ids=["2ms", "off"])
def test_the_switch_interval_holds_while_the_app_runs(
    tmp_path: Path, setting: str, expected_s: float | None
) -> None:
    before = sys.getswitchinterval()
    with serving_platform(tmp_path, env={"PLATFORM_GIL_SWITCH_INTERVAL_MS": setting}):
        assert sys.getswitchinterval() == pytest.approx(expected_s or before)
    assert sys.getswitchinterval() == before


def test_the_default_is_one_millisecond() -> None:
    assert Settings(admin_api_key=None).gil_switch_interval_ms == 1.0


@pytest.mark.parametrize("value", [-1, 101])
def test_a_switch_interval_outside_0_to_100_ms_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match="gil_switch_interval_ms"):
        Settings(gil_switch_interval_ms=value)
