"""Conditional-request validators kept in PostgreSQL, for every replica and later process."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kradle_providers.http.conditional import CachedEntry, CacheKey

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import PostgresStateStore

__all__ = ["PostgresValidators"]


class PostgresValidators:
    """A :class:`~kradle_providers.http.conditional.ValidatorBackend` in PostgreSQL."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def get(self, key: CacheKey) -> CachedEntry | None:
        """The entry stored under ``key``, or None."""
        row = await self._store.fetchone(
            "SELECT etag, last_modified, status, headers, content, stored_at FROM validators "
            "WHERE credential = %s AND method = %s AND url = %s AND accept = %s",
            key,
        )
        if row is None:
            return None
        etag, last_modified, status, headers, content, stored_at = row
        pairs = tuple((str(k), str(v)) for k, v in json.loads(headers))
        return CachedEntry(etag, last_modified, int(status), pairs, bytes(content), stored_at)

    async def put(self, key: CacheKey, entry: CachedEntry) -> None:
        """Store (or replace) ``entry``; credential-bearing headers are dropped."""
        kept = entry.storable()
        await self._store.execute(
            "INSERT INTO validators (credential, method, url, accept, etag, last_modified, "
            "status, headers, content, stored_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (credential, method, url, accept) DO UPDATE SET "
            "etag = excluded.etag, last_modified = excluded.last_modified, "
            "status = excluded.status, headers = excluded.headers, content = excluded.content, "
            "stored_at = excluded.stored_at",
            (
                *key,
                kept.etag,
                kept.last_modified,
                kept.status_code,
                json.dumps([list(pair) for pair in kept.headers]),
                kept.content,
                kept.stored_at,
            ),
        )

    async def invalidate(self, key: CacheKey) -> None:
        """Forget the entry under ``key``."""
        await self._store.execute(
            "DELETE FROM validators WHERE "
            "credential = %s AND method = %s AND url = %s AND accept = %s",
            key,
        )
