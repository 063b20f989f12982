"""The append-only audit stream in SQLite."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kradle_providers.store.sqlite.rows import (
    Conn,
    dump,
    ts,
)
from kradle_providers.sync.records import AuditEvent

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteAuditLog"]


class SqliteAuditLog:
    """The append-only audit stream; ids are monotonic and never reused."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def append(self, event: AuditEvent) -> AuditEvent:
        """Store ``event`` re-redacted (secrets registered since it was built are scrubbed too)."""
        clean = event.redacted().model_copy(update={"id": None})
        record = dump(clean)

        def work(conn: Conn) -> int:
            cur = conn.execute(
                "INSERT INTO audit (at, binding, record) VALUES (?, ?, ?)",
                (ts(clean.at), clean.binding, record),
            )
            return int(cur.lastrowid or 0)

        new_id = await self._store.call(work)
        return clean.model_copy(update={"id": new_id})

    async def find(
        self, *, binding: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """Events with id > ``after_id`` (of a binding), in id order."""
        sql = "SELECT id, record FROM audit WHERE id > ?"
        params: list[Any] = [after_id]
        if binding is not None:
            sql += " AND binding = ?"
            params.append(binding)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)

        def work(conn: Conn) -> list[AuditEvent]:
            return [
                AuditEvent.model_validate_json(rec).model_copy(update={"id": int(i)})
                for i, rec in conn.execute(sql, params)
            ]

        return await self._store.call(work)

    async def count(self, *, binding: str | None = None) -> int:
        """How many events (of a binding) are stored."""

        def work(conn: Conn) -> int:
            if binding is None:
                row = conn.execute("SELECT COUNT(*) FROM audit").fetchone()
            else:
                row = conn.execute(
                    "SELECT COUNT(*) FROM audit WHERE binding = ?", (binding,)
                ).fetchone()
            return int(row[0])

        return await self._store.call(work)
