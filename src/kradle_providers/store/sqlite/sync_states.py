"""Sync stream checkpoints in SQLite."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kradle_providers.models.base import Interface
from kradle_providers.store.sqlite.rows import (
    Conn,
    dump,
    ts,
)
from kradle_providers.sync.records import SyncState

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteSyncStateRepository", "put_state", "state_row"]


def state_row(state: SyncState) -> tuple[Any, ...]:
    return (
        state.binding,
        state.interface.value,
        state.kind,
        state.scope,
        state.phase.value,
        ts(state.updated_at),
        dump(state),
    )


def put_state(conn: Conn, row: tuple[Any, ...]) -> None:
    conn.execute("INSERT OR REPLACE INTO sync_states VALUES (?, ?, ?, ?, ?, ?, ?)", row)


class SqliteSyncStateRepository:
    """Sync stream checkpoints, keyed by (binding, interface, kind, scope)."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def get(
        self, binding: str, interface: Interface, kind: str, scope: str = "-"
    ) -> SyncState | None:
        """The stored state, or ``None``."""
        params = (binding, Interface(interface).value, kind, scope)

        def work(conn: Conn) -> SyncState | None:
            row = conn.execute(
                "SELECT record FROM sync_states WHERE binding = ? AND interface = ? "
                "AND kind = ? AND scope = ?",
                params,
            ).fetchone()
            return None if row is None else SyncState.model_validate_json(row[0])

        return await self._store.call(work)

    async def put(self, state: SyncState) -> None:
        """Store ``state``, replacing the stream's previous one."""
        row = state_row(state)
        await self._store.call(lambda conn: put_state(conn, row))

    async def find(self, *, binding: str | None = None) -> list[SyncState]:
        """Every stored state (of one binding), ordered by key."""

        def work(conn: Conn) -> list[SyncState]:
            sql = "SELECT record FROM sync_states"
            params: tuple[str, ...] = ()
            if binding is not None:
                sql += " WHERE binding = ?"
                params = (binding,)
            rows = conn.execute(sql + " ORDER BY binding, interface, kind, scope", params)
            return [SyncState.model_validate_json(r[0]) for r in rows]

        return await self._store.call(work)
