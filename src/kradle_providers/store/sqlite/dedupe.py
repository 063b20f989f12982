"""Expiring duplicate-event marks in SQLite."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from kradle_providers.store.sqlite.rows import Conn

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteDedupeStore"]


class SqliteDedupeStore:
    """A persistent, expiring :class:`~kradle_providers.webhooks.dedupe.DedupeStore`.

    Marks expire ``ttl`` after they are made (wall clock, so that several
    processes sharing the file agree). Check-and-mark is one transaction.
    """

    def __init__(self, store: SqliteStateStore, *, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("dedupe ttl must be positive")
        self._store = store
        self.ttl = ttl

    async def seen_before(self, key: str) -> bool:
        """True if ``key`` was marked within the TTL; marks it either way."""
        now = self._store.now().timestamp()
        expires = now + self.ttl.total_seconds()

        def work(conn: Conn) -> bool:
            # One statement: a new key is inserted, an expired mark renewed, a live one kept.
            cur = conn.execute(
                "INSERT INTO dedupe (key, expires_at) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET expires_at = excluded.expires_at WHERE dedupe.expires_at <= ?",
                (key, expires, now),
            )
            return cur.rowcount == 0

        return await self._store.transaction(work)

    async def forget(self, key: str) -> None:
        """Unmark ``key`` (its processing failed and will be retried)."""
        await self._store.call(
            lambda conn: conn.execute("DELETE FROM dedupe WHERE key = ?", (key,))
        )

    async def purge_expired(self) -> int:
        """Delete expired marks; returns how many."""
        now = self._store.now().timestamp()

        def work(conn: Conn) -> int:
            return conn.execute("DELETE FROM dedupe WHERE expires_at <= ?", (now,)).rowcount

        return await self._store.call(work)
