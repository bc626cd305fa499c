"""The history of runs, so a regression shows next to earlier runs.

Runs are kept in a database (`history_store.py`: `results/history.sqlite`, or PostgreSQL). The
`results/history.jsonl` that earlier loadlab versions appended to is imported once, line by line
and without loss, the first time the history of that results folder is opened.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from loadlab.errors import UsageError
from loadlab.history_store import JSONL_FILE, STORE_FILE, HistoryStore, default_url
from loadlab.results import RunSummary
from loadlab.verdict import word

HISTORY_FILE = JSONL_FILE  # the file earlier versions wrote; imported once


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


def open_store(results_dir: Path, url: str | None = None) -> HistoryStore:
    """The history of `results_dir` (or the database at `url`), with its old history.jsonl
    imported first if it has one that was not imported yet."""
    store = HistoryStore(url or default_url(results_dir))
    jsonl = results_dir / HISTORY_FILE
    if jsonl.exists() and not store.imported(jsonl):
        store.import_jsonl(jsonl, read_jsonl(jsonl))
    return store


def check_store(results_dir: Path, url: str | None = None) -> None:
    """Connect and create the tables now, so an unreachable history is found before the load."""
    store = open_store(results_dir, url)
    try:
        store.check()
    finally:
        store.close()


def has_history(results_dir: Path, url: str | None) -> bool:
    """False when there is nothing to read, so reading never creates an empty database."""
    return (
        url is not None
        or (results_dir / STORE_FILE).exists()
        or (results_dir / HISTORY_FILE).exists()
    )


def append(results_dir: Path, summary: RunSummary, run_dir: Path, *, url: str | None = None) -> str:
    """Record the run; returns its id in the history."""
    store = open_store(results_dir, url)
    try:
        return store.record(summary, run_dir.name)
    finally:
        store.close()


def read(results_dir: Path, url: str | None = None) -> list[HistoryEntry]:
    """Every run, oldest first; a damaged history.jsonl line is a usage error naming it."""
    if not has_history(results_dir, url):
        return []
    store = open_store(results_dir, url)
    try:
        return [_from_row(row) for row in store.rows()]
    finally:
        store.close()


def entries(store: HistoryStore, *, scenario: str | None, limit: int | None) -> list[HistoryEntry]:
    return [_from_row(row) for row in store.rows(scenario=scenario, limit=limit)]


def _from_row(row: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(**{f.name: row[f.name] for f in fields(HistoryEntry)})


def read_jsonl(path: Path) -> list[tuple[dict[str, Any], str]]:
    """Every line of an old history.jsonl, checked, with its text; a damaged line is exit 2."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{path} is not UTF-8 ({error.reason} at byte {error.start})",
            hint="fix or remove the damaged line",
        ) from None
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append((_entry(json.loads(line)).__dict__, line))
        except ValueError as error:
            raise UsageError(
                f"{path} line {number} is damaged: {error}", hint="fix or remove that line"
            ) from None
    return found


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
