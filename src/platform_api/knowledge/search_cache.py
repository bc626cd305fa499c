"""A small in-process TTL cache of search answers, dropped per workspace when it gets a document.

Repeated searches (a dashboard, a load test's vocabulary) are common and a full-text query with
snippets is the most expensive read of the knowledge base. Each server process has its own cache:
with several workers, another worker's cache may serve an answer up to `PLATFORM_CACHE_TTL_S` old.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from fastapi import Request

V = TypeVar("V")
Key = tuple[str, str, int]


class SearchCache(Generic[V]):
    """Keyed by (workspace id, query, limit); least recently used entries go first when full."""

    def __init__(self, ttl_s: float, max_entries: int = 2048) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: OrderedDict[Key, tuple[float, V]] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def generation(self, workspace_id: str) -> tuple[int, int]:
        """Read before computing an answer and pass to `put`, so a racing invalidation wins."""
        with self._lock:
            return self._epoch, self._generations.get(workspace_id, 0)

    def get(self, key: Key) -> V | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Key, value: V, generation: tuple[int, int]) -> None:
        if self._ttl_s <= 0:
            return
        with self._lock:
            if (self._epoch, self._generations.get(key[0], 0)) != generation:
                return
            self._entries[key] = (time.monotonic() + self._ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def invalidate_workspace(self, workspace_id: str) -> None:
        with self._lock:
            if len(self._generations) >= self._max_entries * 16:
                self._generations.clear()
                self._epoch += 1
            self._generations[workspace_id] = self._generations.get(workspace_id, 0) + 1
            for key in [k for k in self._entries if k[0] == workspace_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generations.clear()
            self._epoch += 1


async def get_search_cache(request: Request) -> SearchCache[Any]:
    """The app's search cache, made by its lifespan."""
    cache: SearchCache[Any] = request.app.state.search_cache
    return cache
