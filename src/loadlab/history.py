"""The history of runs (`results/history.jsonl`), so a regression shows next to earlier runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from loadlab.errors import UsageError
from loadlab.results import RunSummary
from loadlab.verdict import word

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
    error_rate_percent: float
    exit_code: int
    reason: str
    run_dir: str


_TYPES: dict[str, tuple[type, ...]] = {
    "run_id": (str,),
    "scenario": (str,),
    "engine": (str,),
    "started_at": (str,),
    "requests": (int,),
    "rps": (int, float),
    "p95_ms": (int, float, type(None)),
    "error_rate_percent": (int, float),
    "exit_code": (int,),
    "reason": (str,),
    "run_dir": (str,),
}


def append(results_dir: Path, summary: RunSummary, run_dir: Path) -> Path:
    entry = HistoryEntry(
        run_id=summary.run_id,
        scenario=summary.scenario,
        engine=summary.engine,
        started_at=summary.started_at,
        requests=summary.totals.requests,
        rps=round(summary.totals.rps, 3),
        p95_ms=summary.totals.p95_ms,
        error_rate_percent=summary.totals.error_rate,
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
    """Every entry, oldest first; a damaged line is a usage error naming it (exit 2)."""
    path = results_dir / HISTORY_FILE
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{path} is not UTF-8 ({error.reason} at byte {error.start})",
            hint="fix or remove the damaged line",
        ) from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(_entry(json.loads(line)))
        except ValueError as error:
            raise UsageError(
                f"{path} line {number} is damaged: {error}", hint="fix or remove that line"
            ) from None
    return entries


def _entry(data: Any) -> HistoryEntry:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if "error_rate_percent" not in data and isinstance(data.get("error_rate"), int | float):
        data = {**data, "error_rate_percent": 100.0 * data.pop("error_rate")}  # written by 0.1
    names = {f.name for f in fields(HistoryEntry)}
    missing = sorted(names - set(data))
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    for name, kinds in _TYPES.items():
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ValueError(f"{name} is {value!r}")
    return HistoryEntry(**{name: data[name] for name in names})


def format_table(entries: Sequence[HistoryEntry]) -> list[str]:
    columns = ("run", "engine", "requests", "req/s", "p95 ms", "errors")
    header = "{:<32} {:<7} {:>9} {:>8} {:>8} {:>7}  verdict".format(*columns)
    lines = [header]
    for e in entries:
        p95 = "-" if e.p95_ms is None else f"{e.p95_ms:.1f}"
        lines.append(
            f"{e.run_id:<32} {e.engine:<7} {e.requests:>9} {e.rps:>8.1f} {p95:>8} "
            f"{e.error_rate_percent:>6.2f}%  {word(e.exit_code)} (exit {e.exit_code}): {e.reason}"
        )
    return lines
