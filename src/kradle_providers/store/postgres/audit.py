"""The append-only audit stream in PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kradle_providers.store.sqlite.rows import dump, ts
from kradle_providers.sync.records import AuditEvent

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn, PostgresStateStore

__all__ = ["PostgresAuditLog"]

# Appends take this transaction-scoped lock so that ids become visible in id
# order: a reader paging with "after id N" never skips an event that commits late.
_AUDIT_LOCK = 0x6B72_6164  # "krad"


class PostgresAuditLog:
    """The append-only audit stream; ids are monotonic, never reused, visible in order."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def append(self, event: AuditEvent) -> AuditEvent:
        """Store ``event`` re-redacted (secrets registered since it was built are scrubbed too)."""
        clean = event.redacted().model_copy(update={"id": None})
        record = dump(clean)

        async def work(conn: Conn) -> int:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
            cur = await conn.execute(
                "INSERT INTO audit (at, binding, record) VALUES (%s, %s, %s) RETURNING id",
                (ts(clean.at), clean.binding, record),
            )
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])

        new_id = await self._store.transaction(work)
        return clean.model_copy(update={"id": new_id})

    async def find(
        self, *, binding: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """Events with id > ``after_id`` (of a binding), in id order."""
        query = "SELECT id, record FROM audit WHERE id > %s"
        params: list[Any] = [after_id]
        if binding is not None:
            query += " AND binding = %s"
            params.append(binding)
        query += " ORDER BY id LIMIT %s"
        params.append(limit)
        rows = await self._store.fetchall(query, params)
        return [
            AuditEvent.model_validate_json(rec).model_copy(update={"id": int(i)}) for i, rec in rows
        ]

    async def count(self, *, binding: str | None = None) -> int:
        """How many events (of a binding) are stored."""
        if binding is None:
            row = await self._store.fetchone("SELECT COUNT(*) FROM audit")
        else:
            row = await self._store.fetchone(
                "SELECT COUNT(*) FROM audit WHERE binding = %s", (binding,)
            )
        return 0 if row is None else int(row[0])
