"""monitor.csv is a report like the others: `loadlab report RUN_DIR` writes it from summary.json."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

from loadlab_process import REPO, loadlab_command

FIXTURE = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"


def test_report_writes_monitor_csv_from_the_summary(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "summary.json")
    done = subprocess.run(
        [*loadlab_command(), "report", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "monitor.csv") in done.stdout.splitlines()
    with open(tmp_path / "monitor.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows
    assert rows[0]["t_s"] != ""
    assert "server_error_rate" in rows[0]
