"""Named leases in SQLite: one holder at a time, taken over once expired."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from kradle_providers.store.claims import epoch
from kradle_providers.store.sqlite.rows import Conn

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteLeases"]


class SqliteLeases:
    """Named leases (``backfill:<stream>``, …) shared by every process using the file."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def acquire(self, name: str, holder: str, *, ttl: timedelta) -> bool:
        """Take ``name`` for ``holder`` if free, expired or already theirs; ``True`` if held."""
        now = self._store.now()

        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                (name, holder, epoch(now + ttl), epoch(now)),
            )
            return cur.rowcount == 1

        return await self._store.transaction(work)

    async def renew(self, name: str, holder: str, *, ttl: timedelta) -> bool:
        """Extend ``holder``'s lease (the heartbeat); ``False`` if it was taken over."""
        until = epoch(self._store.now() + ttl)

        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?",
                (until, name, holder),
            )
            return cur.rowcount == 1

        return await self._store.call(work)

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up (only ``holder``'s own)."""
        await self._store.call(
            lambda conn: conn.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            )
        )

    async def holder(self, name: str) -> str | None:
        """Who holds ``name`` now (an expired lease has no holder)."""
        now = epoch(self._store.now())

        def work(conn: Conn) -> str | None:
            row = conn.execute(
                "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, now)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._store.call(work)
