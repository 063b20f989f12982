"""Sync stream checkpoints in PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kradle_providers.models.base import Interface
from kradle_providers.store.sqlite.sync_states import state_row
from kradle_providers.sync.records import SyncState

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn, PostgresStateStore

__all__ = ["PostgresSyncStateRepository", "put_state"]


async def put_state(conn: Conn, row: tuple[Any, ...]) -> None:
    await conn.execute(
        "INSERT INTO sync_states VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (binding, interface, kind, scope) DO UPDATE SET "
        "phase = EXCLUDED.phase, updated_at = EXCLUDED.updated_at, record = EXCLUDED.record",
        row,
    )


class PostgresSyncStateRepository:
    """Sync stream checkpoints, keyed by (binding, interface, kind, scope)."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def get(
        self, binding: str, interface: Interface, kind: str, scope: str = "-"
    ) -> SyncState | None:
        """The stored state, or ``None``."""
        row = await self._store.fetchone(
            "SELECT record FROM sync_states WHERE binding = %s AND interface = %s "
            "AND kind = %s AND scope = %s",
            (binding, Interface(interface).value, kind, scope),
        )
        return None if row is None else SyncState.model_validate_json(row[0])

    async def put(self, state: SyncState) -> None:
        """Store ``state``, replacing the stream's previous one."""
        row = state_row(state)

        async def work(conn: Conn) -> None:
            await put_state(conn, row)

        await self._store.transaction(work)

    async def find(self, *, binding: str | None = None) -> list[SyncState]:
        """Every stored state (of one binding), ordered by key."""
        query = "SELECT record FROM sync_states"
        params: tuple[str, ...] = ()
        if binding is not None:
            query += " WHERE binding = %s"
            params = (binding,)
        rows = await self._store.fetchall(
            query + ' ORDER BY binding COLLATE "C", interface COLLATE "C", kind COLLATE "C", '
            'scope COLLATE "C"',
            params,
        )
        return [SyncState.model_validate_json(r[0]) for r in rows]
