"""Realistic volume for load tests: `platform-api seed --size small|default --seed N`.

Load tests against an empty database measure nothing: indexes are tiny, caches are warm, searches
scan nothing. The seed creates accounts, workspaces, workflows, finished executions with their
costs, thousands of knowledge-base documents, the `default` dataset (1,000,000 rows at the default
size) and the sample codebases. The same `--seed` gives the same rows (except API keys, which are
random: nobody can sign in as a seeded account until `issue_seed_keys` (`platform-api seed-keys`)
gives some of them keys, for load that reads what real members read).

Each part is idempotent: accounts are skipped when the seeded accounts exist, the dataset is kept
when it has the requested size and rebuilt otherwise, samples are replaced. Rows go in with bulk
inserts (executemany; COPY for the dataset on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import io
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text
from sqlalchemy.orm import Session

from platform_api.db import Database
from platform_api.heavy.samples import build_samples
from platform_api.knowledge import corpus
from platform_api.models import (
    CodeSample,
    CostRecord,
    Dataset,
    DatasetRow,
    Document,
    Execution,
    User,
    Workflow,
    Workspace,
)

SEED_EMAIL_DOMAIN = "seed.platform.local"
DATASET_ID = "default"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_S = 90 * 24 * 3600
CATEGORIES = (
    "analytics", "billing", "compute", "identity", "network", "security", "storage", "support",
)  # fmt: skip
ADJECTIVES = (
    "amber", "brisk", "cobalt", "dusty", "early", "fuzzy", "golden", "hidden", "icy",
    "jolly", "keen", "lunar", "misty", "noble", "olive", "proud", "quiet", "rapid",
)  # fmt: skip
NOUNS = (
    "falcon", "harbor", "meadow", "canyon", "comet", "delta", "ember", "fjord", "glacier",
    "island", "jungle", "lagoon", "mesa", "nebula", "orchard", "prairie", "quarry", "reef",
)  # fmt: skip
MODELS = {"small": 0.0005, "medium": 0.003, "large": 0.015}
ROW_CHUNK = 50_000


@dataclass(frozen=True)
class SeedSize:
    users: int
    workspaces_per_user: int
    workflows_per_workspace: int
    documents: int
    executions: int
    dataset_rows: int


SIZES = {
    "small": SeedSize(
        users=10,
        workspaces_per_user=2,
        workflows_per_workspace=2,
        documents=300,
        executions=100,
        dataset_rows=10_000,
    ),
    "default": SeedSize(
        users=100,
        workspaces_per_user=2,
        workflows_per_workspace=3,
        documents=5_000,
        executions=3_000,
        dataset_rows=1_000_000,
    ),
}


def seed(
    database: Database, *, size: str, seed_value: int, report: Callable[[str], None]
) -> dict[str, int]:
    """Seed every part; returns the number of rows written per table."""
    spec = SIZES[size]
    counts: dict[str, int] = {}
    started = time.perf_counter()
    with database.transaction() as session:
        counts |= _seed_accounts(session, spec, random.Random(seed_value), report)
    with database.transaction() as session:
        counts |= _seed_dataset(session, spec, random.Random(seed_value + 1), report)
    with database.transaction() as session:
        counts |= _seed_samples(session, report)
    if database.dialect == "postgresql":
        # Fresh statistics, so the first load test does not run on plans made for empty tables.
        with database.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    report(f"seeded size {size} with seed {seed_value} in {time.perf_counter() - started:.1f} s")
    return counts


def issue_seed_keys(database: Database, *, count: int) -> list[str]:
    """New API keys for the first `count` seeded accounts (by email), replacing theirs; the keys
    themselves are returned once, like any account's, and only their hashes are stored."""
    from platform_api.accounts.service import new_api_key
    from platform_api.deps import hash_api_key

    keys = []
    with database.transaction() as session:
        users = session.scalars(
            select(User)
            .where(User.email.like(f"seed-%@{SEED_EMAIL_DOMAIN}"), User.disabled.is_(False))
            .order_by(User.email)
            .limit(count)
        ).all()
        for user in users:
            key = new_api_key()
            user.api_key_hash = hash_api_key(key)
            keys.append(key)
    return keys


def _seed_accounts(
    session: Session, spec: SeedSize, rng: random.Random, report: Callable[[str], None]
) -> dict[str, int]:
    first = f"seed-0000@{SEED_EMAIL_DOMAIN}"
    if session.scalar(select(User.id).where(User.email == first)) is not None:
        report("accounts: seeded accounts exist already; kept as they are")
        return {}
    users = [_user(rng, i) for i in range(spec.users)]
    workspaces = [
        _workspace(rng, user["id"], j) for user in users for j in range(spec.workspaces_per_user)
    ]
    workflows = [
        _workflow(rng, ws["id"], k)
        for ws in workspaces
        for k in range(spec.workflows_per_workspace)
    ]
    documents = [_document(rng, rng.choice(workspaces)["id"]) for _ in range(spec.documents)]
    owners = {ws["id"]: ws["owner_id"] for ws in workspaces}
    executions, costs = _executions(rng, workflows, owners, spec.executions)
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (User, users),
        (Workspace, workspaces),
        (Workflow, workflows),
        (Document, documents),
        (Execution, executions),
        (CostRecord, costs),
    ]
    counts = {}
    for model, rows in tables:
        for start in range(0, len(rows), 1000):
            session.execute(insert(model.__table__), rows[start : start + 1000])
        counts[model.__tablename__] = len(rows)
    report("accounts: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return counts


def _new_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _when(rng: random.Random) -> datetime:
    return EPOCH + timedelta(seconds=rng.randrange(SPAN_S))


def _user(rng: random.Random, index: int) -> dict[str, Any]:
    name = f"{rng.choice(ADJECTIVES).title()} {rng.choice(NOUNS).title()}"
    return {
        "id": _new_id(rng),
        "email": f"seed-{index:04d}@{SEED_EMAIL_DOMAIN}",
        "name": name,
        "role": "member",
        "api_key_hash": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        "disabled": False,
        "created_at": EPOCH,
        "test_run_id": None,
    }


def _workspace(rng: random.Random, owner_id: str, index: int) -> dict[str, Any]:
    created = _when(rng)
    subject = rng.choice(corpus.SUBJECTS)
    return {
        "id": _new_id(rng),
        "owner_id": owner_id,
        "name": f"{subject.title()} {index + 1}",
        "description": f"Team space for {subject}.",
        "created_at": created,
        "updated_at": created,
        "test_run_id": None,
    }


def _workflow(rng: random.Random, workspace_id: str, index: int) -> dict[str, Any]:
    created = _when(rng)
    steps = [
        {"type": "transform", "name": "normalise", "operation": "lowercase"},
        {
            "type": "llm",
            "name": "summarise",
            "model": rng.choice(list(MODELS)),
            "prompt": "Summarise the incident notes for the weekly report.",
            "max_tokens": rng.choice([128, 256, 512]),
        },
        {"type": "transform", "name": "fingerprint", "operation": "sha256"},
    ]
    return {
        "id": _new_id(rng),
        "workspace_id": workspace_id,
        "name": f"Pipeline {index + 1}",
        "description": "Summarise and fingerprint incoming notes.",
        "steps": steps,
        "created_at": created,
        "updated_at": created,
        "test_run_id": None,
    }


def _document(rng: random.Random, workspace_id: str) -> dict[str, Any]:
    doc = corpus.document(rng)
    return {
        "id": _new_id(rng),
        "workspace_id": workspace_id,
        "title": doc.title,
        "content": doc.content,
        "tags": doc.tags,
        "created_at": _when(rng),
        "test_run_id": None,
    }


def _executions(
    rng: random.Random, workflows: list[dict[str, Any]], owners: dict[str, str], count: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Finished executions, each with the cost record of its one model call."""
    executions, costs = [], []
    for _ in range(count if workflows else 0):
        workflow = rng.choice(workflows)
        model = rng.choice(list(MODELS))
        tokens = rng.randint(200, 4000)
        cost = round(tokens / 1000 * MODELS[model], 6)
        created = _when(rng)
        finished = created + timedelta(milliseconds=rng.randint(50, 3000))
        user_id = owners[workflow["workspace_id"]]
        execution = {
            "id": _new_id(rng),
            "workflow_id": workflow["id"],
            "workspace_id": workflow["workspace_id"],
            "user_id": user_id,
            "status": "succeeded",
            "input": {"text": "weekly incident notes"},
            "output": {"text": "summary"},
            "step_results": [],
            "cost_usd": cost,
            "error": None,
            "attempts": 1,
            "lease_owner": None,
            "lease_expires_at": None,
            "created_at": created,
            "started_at": created,
            "finished_at": finished,
            "test_run_id": None,
        }
        executions.append(execution)
        costs.append(
            {
                "id": _new_id(rng),
                "execution_id": execution["id"],
                "workspace_id": workflow["workspace_id"],
                "user_id": user_id,
                "model": model,
                "tokens": tokens,
                "cost_usd": cost,
                "created_at": finished,
                "test_run_id": None,
            }
        )
    return executions, costs


def _seed_dataset(
    session: Session, spec: SeedSize, rng: random.Random, report: Callable[[str], None]
) -> dict[str, int]:
    existing = session.get(Dataset, DATASET_ID)
    if existing is not None:
        present = session.scalar(
            select(func.count()).select_from(DatasetRow).where(DatasetRow.dataset_id == DATASET_ID)
        )
        if present == spec.dataset_rows:
            report(f"dataset {DATASET_ID}: {present} rows exist already; kept")
            return {}
        report(f"dataset {DATASET_ID}: has {present} rows, not {spec.dataset_rows}; rebuilding")
        session.execute(delete(DatasetRow).where(DatasetRow.dataset_id == DATASET_ID))
        session.delete(existing)
        session.flush()
    session.add(Dataset(id=DATASET_ID, name=DATASET_ID, rows=spec.dataset_rows))
    session.flush()
    connection = session.connection()
    started = time.perf_counter()
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, rng, spec.dataset_rows)
    else:
        for chunk in _row_chunks(rng, spec.dataset_rows):
            connection.exec_driver_sql(
                "INSERT INTO dataset_rows (id, dataset_id, name, category, value, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(*row[:5], row[5].strftime("%Y-%m-%d %H:%M:%S.%f")) for row in chunk],
            )
    report(
        f"dataset {DATASET_ID}: {spec.dataset_rows} rows in {time.perf_counter() - started:.1f} s"
    )
    return {"dataset_rows": spec.dataset_rows}


def _row_chunks(
    rng: random.Random, total: int
) -> Iterator[list[tuple[int, str, str, str, float, datetime]]]:
    names = [f"{a}-{n}" for a in ADJECTIVES for n in NOUNS]
    for start in range(1, total + 1, ROW_CHUNK):
        stop = min(start + ROW_CHUNK, total + 1)
        yield [
            (
                row_id,
                DATASET_ID,
                f"{rng.choice(names)}-{row_id:07d}",
                rng.choice(CATEGORIES),
                round(rng.random() * 1000, 2),
                EPOCH + timedelta(seconds=rng.randrange(SPAN_S)),
            )
            for row_id in range(start, stop)
        ]


def _copy_rows(connection: Connection, rng: random.Random, total: int) -> None:
    driver: Any = connection.connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(
            "COPY dataset_rows (id, dataset_id, name, category, value, created_at) FROM STDIN"
        ) as copy,
    ):
        for chunk in _row_chunks(rng, total):
            text = io.StringIO()
            for row_id, dataset_id, name, category, value, created in chunk:
                text.write(
                    f"{row_id}\t{dataset_id}\t{name}\t{category}\t{value}\t{created.isoformat()}\n"
                )
            copy.write(text.getvalue())


def _seed_samples(session: Session, report: Callable[[str], None]) -> dict[str, int]:
    samples = build_samples()
    for sample in samples:
        session.merge(CodeSample(name=sample.name, files=sample.files, archive=sample.archive))
    report("samples: " + ", ".join(f"{s.name} ({s.files} files)" for s in samples))
    return {"code_samples": len(samples)}
