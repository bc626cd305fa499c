"""loadlab's Locust plugin loaded by hand beside a locustfile, without loadlab's options: it leaves
the load to Locust's own -u/-r/-t and the run goes as it would without it."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from loadlab_process import LOCUSTFILE
from tiny_target import tiny_target

from loadlab.engines.locust import plugin_path
from process_harness import TestProcess


def test_the_plugin_by_hand_leaves_the_load_to_locust(tmp_path: Path) -> None:
    locust = str(Path(sys.executable).with_name("locust"))
    with tiny_target() as target:
        run = TestProcess(
            [locust, "-f", f"{LOCUSTFILE},{plugin_path()}", "--headless", "-u", "2", "-r", "2",
             "-t", "3s", "--host", target.url, "--csv", str(tmp_path / "run")],
            tmp_path / "logs",
            name="locust",
        )  # fmt: skip
        finished = run.finish(60)
        with target.lock:
            served = len(target.arrivals)
    assert finished.code == 0, finished.explain()
    with open(tmp_path / "run_stats.csv", newline="") as file:
        [total] = [row for row in csv.DictReader(file) if row["Name"] == "Aggregated"]
    assert int(total["Request Count"]) > 0
    assert int(total["Request Count"]) <= served
    assert "LoadlabShape" not in finished.stderr
