"""A bounded cache of validators (ETag / Last-Modified) for conditional GETs.

A GET whose response carried an ``ETag`` or ``Last-Modified`` is remembered;
the next identical GET sends ``If-None-Match`` / ``If-Modified-Since`` and a
``304 Not Modified`` is answered from the cache. Entries are keyed by
credential id, method, full URL (query included) and ``Accept`` header, so two
credentials never see each other's cached bodies. Least-recently-used entries
are evicted beyond ``max_entries``.

A :class:`ValidatorBackend` keeps entries beyond the process: an
:class:`~kradle_providers.http.client.HttpClient` given one
(:meth:`~kradle_providers.http.client.HttpClient.share_validators_with`) looks
up what its memory does not hold and writes every new entry through, so a
backfill run from a new process revalidates with the validators the previous
one received (and 304s the vendor does not bill cost no budget). The state
store's ``validators`` repository is the usual backend.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Protocol

from kradle_providers.auth.secret import is_sensitive_header

__all__ = [
    "CacheKey",
    "CachedEntry",
    "ConditionalCache",
    "InMemoryValidatorBackend",
    "ValidatorBackend",
]

CacheKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class CachedEntry:
    """A cached response body and the validators to revalidate it."""

    etag: str | None
    last_modified: str | None
    status_code: int
    headers: tuple[tuple[str, str], ...]
    content: bytes
    stored_at: float | None = None
    """Epoch seconds the body was received, for entries read back while fresh (``max_age``)."""

    def conditional_headers(self) -> dict[str, str]:
        """The ``If-None-Match`` / ``If-Modified-Since`` headers for revalidation."""
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def storable(self) -> CachedEntry:
        """This entry without credential-bearing response headers (what a backend keeps)."""
        kept = tuple((k, v) for k, v in self.headers if not _unstorable(k))
        return self if kept == self.headers else replace(self, headers=kept)

    def __repr__(self) -> str:
        return (
            f"CachedEntry(etag={self.etag!r}, last_modified={self.last_modified!r}, "
            f"status_code={self.status_code}, bytes={len(self.content)})"
        )


def _unstorable(name: str) -> bool:
    return is_sensitive_header(name) or name.lower() in ("set-cookie", "set-cookie2")


class ValidatorBackend(Protocol):
    """Where validated responses outlive the process (the state store's ``validators``)."""

    async def get(self, key: CacheKey) -> CachedEntry | None:
        """The entry stored under ``key``, or None."""
        ...

    async def put(self, key: CacheKey, entry: CachedEntry) -> None:
        """Store (or replace) ``entry`` under ``key``; credential headers are never stored."""
        ...

    async def invalidate(self, key: CacheKey) -> None:
        """Forget the entry under ``key`` (a write made it stale)."""
        ...


class InMemoryValidatorBackend:
    """A :class:`ValidatorBackend` in this process (tests; clients sharing one map)."""

    def __init__(self) -> None:
        self.entries: dict[CacheKey, CachedEntry] = {}

    async def get(self, key: CacheKey) -> CachedEntry | None:
        """The entry stored under ``key``, or None."""
        return self.entries.get(key)

    async def put(self, key: CacheKey, entry: CachedEntry) -> None:
        """Store ``entry`` (without credential headers)."""
        self.entries[key] = entry.storable()

    async def invalidate(self, key: CacheKey) -> None:
        """Forget ``key``."""
        self.entries.pop(key, None)

    def __repr__(self) -> str:
        return f"InMemoryValidatorBackend(entries={len(self.entries)})"


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
        if not (entry.etag or entry.last_modified or entry.stored_at is not None):
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
