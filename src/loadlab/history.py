"""The history of runs (`results/history.jsonl`), so a regression shows next to earlier runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loadlab.results import RunSummary

HISTORY_FILE = "history.jsonl"


@dataclass(frozen=True)
class HistoryEntry:
    run_id: str
    scenario: str
    engine: str
    started_at: str
    requests: int
    rps: float
    p95_ms: float | None
    error_rate: float
    exit_code: int
    reason: str
    run_dir: str


def append(results_dir: Path, summary: RunSummary, run_dir: Path) -> Path:
    entry = HistoryEntry(
        run_id=summary.run_id,
        scenario=summary.scenario,
        engine=summary.engine,
        started_at=summary.started_at,
        requests=summary.totals.requests,
        rps=round(summary.totals.rps, 3),
        p95_ms=summary.totals.p95_ms,
        error_rate=summary.totals.error_rate,
        exit_code=summary.verdict.exit_code,
        reason=summary.verdict.reason,
        run_dir=run_dir.name,
    )
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / HISTORY_FILE
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(entry.__dict__) + "\n")
    return path


def read(results_dir: Path) -> list[HistoryEntry]:
    """Every readable entry, oldest first; a damaged line is skipped, not fatal."""
    path = results_dir / HISTORY_FILE
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(HistoryEntry(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return entries


def format_table(entries: Sequence[HistoryEntry]) -> list[str]:
    columns = ("run", "engine", "requests", "req/s", "p95 ms", "errors")
    header = "{:<32} {:<7} {:>9} {:>8} {:>8} {:>7}  verdict".format(*columns)
    lines = [header]
    for e in entries:
        p95 = "-" if e.p95_ms is None else f"{e.p95_ms:.1f}"
        verdict = "pass" if e.exit_code == 0 else f"exit {e.exit_code}"
        lines.append(
            f"{e.run_id:<32} {e.engine:<7} {e.requests:>9} {e.rps:>8.1f} {p95:>8} "
            f"{100 * e.error_rate:>6.2f}%  {verdict}: {e.reason}"
        )
    return lines
