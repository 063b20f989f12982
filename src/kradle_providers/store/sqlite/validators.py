"""Conditional-request validators kept in the SQLite file, for every later process."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kradle_providers.http.conditional import CachedEntry, CacheKey
from kradle_providers.store.sqlite.rows import Conn

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteValidators"]


class SqliteValidators:
    """A :class:`~kradle_providers.http.conditional.ValidatorBackend` in the store's file."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def get(self, key: CacheKey) -> CachedEntry | None:
        """The entry stored under ``key``, or None."""

        def work(conn: Conn) -> CachedEntry | None:
            row = conn.execute(
                "SELECT etag, last_modified, status, headers, content, stored_at FROM validators "
                "WHERE credential = ? AND method = ? AND url = ? AND accept = ?",
                key,
            ).fetchone()
            if row is None:
                return None
            etag, last_modified, status, headers, content, stored_at = row
            pairs = tuple((str(k), str(v)) for k, v in json.loads(headers))
            return CachedEntry(etag, last_modified, int(status), pairs, bytes(content), stored_at)

        return await self._store.call(work)

    async def put(self, key: CacheKey, entry: CachedEntry) -> None:
        """Store (or replace) ``entry``; credential-bearing headers are dropped."""
        kept = entry.storable()
        row = (
            *key,
            kept.etag,
            kept.last_modified,
            kept.status_code,
            json.dumps([list(pair) for pair in kept.headers]),
            kept.content,
            kept.stored_at,
        )

        def work(conn: Conn) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO validators (credential, method, url, accept, etag, "
                "last_modified, status, headers, content, stored_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        await self._store.transaction(work)

    async def invalidate(self, key: CacheKey) -> None:
        """Forget the entry under ``key``."""

        def work(conn: Conn) -> None:
            conn.execute(
                "DELETE FROM validators WHERE "
                "credential = ? AND method = ? AND url = ? AND accept = ?",
                key,
            )

        await self._store.transaction(work)
