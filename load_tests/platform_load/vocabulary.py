"""Random but realistic text for the names, prompts, documents and searches users send.

Drawn from one small vocabulary so that knowledge-base searches find the documents users wrote.
"""

from __future__ import annotations

import random

VOCABULARY = (
    "latency throughput database workflow pipeline cache index queue tenant scaling replica backup"
    " deploy rollback incident budget token model prompt invoice schema migration search ranking"
    " cluster gateway secret audit compliance report"
)


def words(count: int) -> str:
    """`count` words drawn at random from the vocabulary, separated by spaces."""
    return " ".join(random.choices(VOCABULARY.split(), k=count))
