"""Expiring duplicate-event marks in PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import PostgresStateStore

__all__ = ["PostgresDedupeStore"]


class PostgresDedupeStore:
    """A shared, expiring :class:`~kradle_providers.webhooks.dedupe.DedupeStore`.

    Check-and-mark is one ``INSERT … ON CONFLICT DO NOTHING``: of two replicas
    marking the same key at once, exactly one sees it as new.
    """

    def __init__(self, store: PostgresStateStore, *, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("dedupe ttl must be positive")
        self._store = store
        self.ttl = ttl

    async def seen_before(self, key: str) -> bool:
        """True if ``key`` was marked within the TTL; marks it either way."""
        now = self._store.now().timestamp()
        expires = now + self.ttl.total_seconds()

        # One statement: a new mark, or an expired one renewed; an unexpired one stays.
        changed = await self._store.execute(
            "INSERT INTO dedupe (key, expires_at) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
            "SET expires_at = EXCLUDED.expires_at WHERE dedupe.expires_at <= %s",
            (key, expires, now),
        )
        return changed == 0

    async def forget(self, key: str) -> None:
        """Unmark ``key`` (its processing failed and will be retried)."""
        await self._store.execute("DELETE FROM dedupe WHERE key = %s", (key,))

    async def purge_expired(self) -> int:
        """Delete expired marks; returns how many."""
        now = self._store.now().timestamp()
        return await self._store.execute("DELETE FROM dedupe WHERE expires_at <= %s", (now,))
