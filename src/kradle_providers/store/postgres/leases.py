"""Named leases in PostgreSQL: one holder at a time, taken over once expired."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from kradle_providers.store.claims import epoch

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import PostgresStateStore

__all__ = ["PostgresLeases"]


class PostgresLeases:
    """Named leases (``backfill:<binding>/<interface>/<kind>/<scope>``, …) shared by replicas."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def acquire(self, name: str, holder: str, *, ttl: timedelta) -> bool:
        """Take ``name`` for ``holder`` if free, expired or already theirs; ``True`` if held."""
        now = self._store.now()
        changed = await self._store.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
            "expires_at = EXCLUDED.expires_at "
            "WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= %s",
            (name, holder, epoch(now + ttl), epoch(now)),
        )
        return changed == 1

    async def renew(self, name: str, holder: str, *, ttl: timedelta) -> bool:
        """Extend ``holder``'s lease (the heartbeat); ``False`` if it was taken over."""
        until = epoch(self._store.now() + ttl)
        changed = await self._store.execute(
            "UPDATE leases SET expires_at = %s WHERE name = %s AND holder = %s",
            (until, name, holder),
        )
        return changed == 1

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up (only ``holder``'s own)."""
        await self._store.execute(
            "DELETE FROM leases WHERE name = %s AND holder = %s", (name, holder)
        )

    async def holder(self, name: str) -> str | None:
        """Who holds ``name`` now (an expired lease has no holder)."""
        row = await self._store.fetchone(
            "SELECT holder FROM leases WHERE name = %s AND expires_at > %s",
            (name, epoch(self._store.now())),
        )
        return None if row is None else str(row[0])
