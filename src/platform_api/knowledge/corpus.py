"""Real-looking knowledge-base text for the seed, so full-text search ranks something like prose.

A document is a title and a few paragraphs of operations writing (runbooks, postmortems, design
notes) assembled from sentence templates. The words overlap with what the load tests search for,
so searches hit a realistic mix of rare and common terms. Deterministic for a given `random.Random`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

KINDS = ("Runbook", "Postmortem", "Design note", "How-to", "FAQ", "Release note", "Policy")
SUBJECTS = (
    "database failover", "cache invalidation", "queue backlog", "tenant isolation",
    "replica lag", "backup restore", "deploy rollback", "incident response", "token budget",
    "model routing", "prompt templates", "invoice export", "schema migration", "search ranking",
    "cluster scaling", "gateway timeouts", "secret rotation", "audit trail", "compliance report",
    "latency regression", "throughput planning", "workflow retries", "pipeline alerts",
    "index maintenance", "rate limiting", "connection pooling", "log retention", "cost tracking",
)  # fmt: skip
SYSTEMS = (
    "the API gateway", "the primary database", "the read replica", "the job queue",
    "the search index", "the billing pipeline", "the workflow engine", "the cache tier",
    "the auth service", "the metrics collector", "the model router", "the export worker",
)  # fmt: skip
SYMPTOMS = (
    "p95 latency doubles", "the error rate climbs above one percent", "workers stop claiming jobs",
    "connections pile up in the pool", "disk usage grows past eighty percent",
    "the replica falls behind by minutes", "tokens are billed twice",
    "searches return stale results",
    "deploys hang at the health check", "the queue depth keeps rising",
)  # fmt: skip
ACTIONS = (
    "drain traffic from the affected zone", "scale the worker pool out by two nodes",
    "roll back to the previous release", "rotate the credentials and restart the pods",
    "rebuild the index from the primary", "raise the pool size and watch the wait time",
    "pause the batch exports", "fail over to the standby", "purge the cache for the tenant",
    "replay the dead-letter queue", "lower the per-key rate limit", "vacuum and analyze the table",
)  # fmt: skip
REASONS = (
    "a missing index on a hot query", "a retry storm after a timeout", "an expired certificate",
    "a schema migration that locked the table", "a noisy tenant", "an undersized connection pool",
    "a slow downstream model", "a cache stampede after a deploy", "a misconfigured gateway route",
    "a leaked goroutine in a sidecar", "a clock skew between nodes", "a full disk on the replica",
)  # fmt: skip
TAGS = (
    "ops", "database", "search", "billing", "security", "workflows", "latency", "compliance",
    "release", "on-call", "capacity", "models",
)  # fmt: skip
TEMPLATES = (
    "When {symptom}, check {system} first.",
    "The usual cause is {reason}; confirm it in the dashboards before acting.",
    "To recover, {action}, then verify that {system} is healthy again.",
    "We saw this during the last {subject} review: {symptom} within minutes.",
    "Do not {action} without telling the on-call engineer for {system}.",
    "The fix for {reason} is tracked in the {subject} backlog.",
    "If {symptom} again, {action} and open an incident.",
    "Capacity planning for {subject} assumes that {system} absorbs ten times the baseline.",
    "{system_cap} records every change in the audit trail, so the {subject} history is complete.",
    "After the change, {symptom} no longer happened, and the budget for {subject} stayed flat.",
)  # fmt: skip


@dataclass(frozen=True)
class GeneratedDocument:
    title: str
    content: str
    tags: list[str]


def document(rng: random.Random) -> GeneratedDocument:
    subject = rng.choice(SUBJECTS)
    title = f"{rng.choice(KINDS)}: {subject}"
    paragraphs = [_paragraph(rng, subject) for _ in range(rng.randint(2, 5))]
    tags = sorted(set(rng.sample(TAGS, rng.randint(1, 3))))
    return GeneratedDocument(title=title, content="\n\n".join(paragraphs), tags=tags)


def _paragraph(rng: random.Random, subject: str) -> str:
    sentences = []
    for _ in range(rng.randint(3, 6)):
        system = rng.choice(SYSTEMS)
        sentences.append(
            rng.choice(TEMPLATES).format(
                subject=subject if rng.random() < 0.6 else rng.choice(SUBJECTS),
                system=system,
                system_cap=system[0].upper() + system[1:],
                symptom=rng.choice(SYMPTOMS),
                action=rng.choice(ACTIONS),
                reason=rng.choice(REASONS),
            )
        )
    return " ".join(sentences)
