"""A bounded cache of validators (ETag / Last-Modified) for conditional GETs.

A GET whose response carried an ``ETag`` or ``Last-Modified`` is remembered;
the next identical GET sends ``If-None-Match`` / ``If-Modified-Since`` and a
``304 Not Modified`` is answered from the cache. Entries are keyed by
credential id, method, full URL (query included) and ``Accept`` header, so two
credentials never see each other's cached bodies. Least-recently-used entries
are evicted beyond ``max_entries``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CacheKey", "CachedEntry", "ConditionalCache"]

CacheKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class CachedEntry:
    """A cached response body and the validators to revalidate it."""

    etag: str | None
    last_modified: str | None
    status_code: int
    headers: tuple[tuple[str, str], ...]
    content: bytes

    def conditional_headers(self) -> dict[str, str]:
        """The ``If-None-Match`` / ``If-Modified-Since`` headers for revalidation."""
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def __repr__(self) -> str:
        return (
            f"CachedEntry(etag={self.etag!r}, last_modified={self.last_modified!r}, "
            f"status_code={self.status_code}, bytes={len(self.content)})"
        )


class ConditionalCache:
    """An LRU map from request identity to :class:`CachedEntry`."""

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("ConditionalCache.max_entries must be >= 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, CachedEntry] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(credential_id: str, method: str, url: str, accept: str | None = None) -> CacheKey:
        """The cache key of a request."""
        return (credential_id, method.upper(), url, accept or "")

    def get(self, key: CacheKey) -> CachedEntry | None:
        """The entry for ``key`` (marking it recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: CacheKey, entry: CachedEntry) -> None:
        """Store ``entry``, evicting the least recently used beyond the bound."""
        if not (entry.etag or entry.last_modified):
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, key: CacheKey) -> None:
        """Forget one entry (e.g. after a write to the same URL)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ConditionalCache(entries={len(self._entries)}, max_entries={self.max_entries})"
