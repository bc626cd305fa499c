"""The history database on a real SQLite file and the real PostgreSQL: what a run leaves in it,
the one-time import of history.jsonl, baselines, and two writers at once."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from history_fixtures import synthetic_run

from loadlab import history
from loadlab.comparison import RunData
from loadlab.histograms import decode, percentile_ms
from loadlab.history_store import HistoryStore, default_url
from platform_server import postgres_database
from process_harness import started


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield default_url(tmp_path / "results")
        return
    with postgres_database() as database_url:
        yield database_url


def test_a_run_keeps_what_a_comparison_recomputes_from(url: str) -> None:
    summary = synthetic_run("r1", seed=1)
    store = HistoryStore(url)
    try:
        assert store.record(summary, "r1-folder") == "r1"
        (loaded,) = store.load(["r1"])
    finally:
        store.close()
    expected = RunData.from_summary(summary)
    assert loaded.plan_key() == expected.plan_key()
    assert loaded.target == "embedded (postgresql)"
    assert loaded.timeline == expected.timeline
    assert loaded.endpoints == expected.endpoints
    assert loaded.steady_s == expected.steady_s
    assert loaded.labels == {}
    # The histograms are the run's own: their percentiles are the summary's exactly.
    total = decode(loaded.histograms["*"])
    assert total.get_total_count() == summary.totals.requests
    assert percentile_ms(total, 95) == summary.totals.p95_ms


def test_the_same_run_id_twice_is_kept_apart(url: str) -> None:
    store = HistoryStore(url)
    try:
        ids = [store.record(synthetic_run("same", seed=s), "x") for s in (1, 2, 3)]
    finally:
        store.close()
    assert ids == ["same", "same-2", "same-3"]


def test_baseline_is_the_last_passing_runs_with_the_same_plan(url: str) -> None:
    store = HistoryStore(url)
    try:
        for index in range(4):
            store.record(synthetic_run(f"ok{index}", seed=index), "x")
        store.record(synthetic_run("failed", seed=9, passed=False), "x")
        store.record(synthetic_run("other-plan", seed=9, users=7), "x")
        current = RunData.from_summary(synthetic_run("now", seed=10))
        assert store.last_passing(current, 3) == ["ok1", "ok2", "ok3"]
        assert store.pinned("smoke", "locust") is None
        store.pin("smoke", "locust", ["ok0", "other-plan"])
        assert store.pinned("smoke", "locust") == ["ok0", "other-plan"]
        assert store.all_pinned() == [("smoke", "locust", ["ok0", "other-plan"])]
        assert store.unpin("smoke") == 1
        assert store.pinned("smoke", "locust") is None
    finally:
        store.close()


def test_history_jsonl_is_imported_once_without_loss(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    lines = [
        json.dumps(
            {"run_id": "old-1", "scenario": "smoke", "engine": "k6",
             "started_at": "2026-11-01T00:00:00Z", "requests": 10, "rps": 1.0, "p95_ms": 5.0,
             "error_rate": 0.1, "exit_code": 0,
             "reason": "ok", "run_dir": "old-1"}
        ),  # written before error rates were percent
        json.dumps(
            {"run_id": "old-2", "scenario": "load", "engine": "locust",
             "started_at": "2026-11-02T00:00:00Z", "requests": 20, "rps": 2.0, "p95_ms": None,
             "error_rate_percent": 1.5, "exit_code": 1,
             "reason": "failed", "run_dir": "old-2"}, indent=None, separators=(",", ":")
        ),
    ]  # fmt: skip
    (results / "history.jsonl").write_text("\n".join(lines) + "\n")
    for _ in range(2):  # a second open imports nothing again
        store = history.open_store(results)
        try:
            rows = store.rows()
        finally:
            store.close()
        assert [r["imported_line"] for r in rows] == lines
    entries = history.read(results)
    assert [(e.run_id, e.error_rate_percent, e.p95_ms) for e in entries] == [
        ("old-1", 10.0, 5.0),
        ("old-2", 1.5, None),
    ]
    # Imported runs have no plan, so they are never a default baseline of a new run.
    store = history.open_store(results)
    try:
        current = RunData.from_summary(synthetic_run("now", seed=1))
        assert store.last_passing(current, 5) == []
    finally:
        store.close()


_WRITER = """
import sys
from loadlab.history_store import HistoryStore
from loadlab.results import RunSummary
import json
summary = RunSummary.from_dict(json.loads(open(sys.argv[2]).read()))
store = HistoryStore(sys.argv[1])
for index in range(int(sys.argv[3])):
    store.record(summary, "x")
store.close()
"""


def test_two_writers_at_once_lose_nothing(url: str, tmp_path: Path) -> None:
    per_writer = 12
    summary_file = tmp_path / "summary.json"
    summary_file.write_text(json.dumps(synthetic_run("shared", seed=1).to_dict()))
    command = [sys.executable, "-c", _WRITER, url, str(summary_file), str(per_writer)]
    with ExitStack() as stack:
        writers = [
            stack.enter_context(started(command, tmp_path / "logs", name=f"writer{n}"))
            for n in range(2)
        ]
        for writer in writers:
            writer.finish(120, expect_code=0)
    store = HistoryStore(url)
    try:
        ids = [r["run_id"] for r in store.rows()]
    finally:
        store.close()
    assert len(ids) == 2 * per_writer
    assert len(set(ids)) == len(ids)
