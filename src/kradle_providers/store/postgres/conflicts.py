"""Conflicts in PostgreSQL, with compare-and-set phase changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import errors

from kradle_providers.store.errors import DuplicateRecord, PhaseMismatch
from kradle_providers.store.postgres.records import fetch_record, find_query
from kradle_providers.store.sqlite.rows import check_history, dump, ts
from kradle_providers.sync.phases import ConflictPhase
from kradle_providers.sync.records import Conflict

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn, PostgresStateStore

__all__ = ["PostgresConflictRepository"]


def _missing(conflict_id: str) -> str:
    return f"no conflict {conflict_id!r}; list conflicts by phase to find it"


class PostgresConflictRepository:
    """Conflicts, with compare-and-set phase changes."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def create(self, conflict: Conflict) -> Conflict:
        """Store a new conflict; :class:`DuplicateRecord` if its id exists."""

        async def work(conn: Conn) -> Conflict:
            try:
                await conn.execute(
                    "INSERT INTO conflicts (id, binding, phase, intent_id, created_at, record) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        conflict.id,
                        conflict.binding,
                        conflict.phase.value,
                        conflict.intent_id,
                        ts(conflict.created_at),
                        dump(conflict),
                    ),
                )
            except errors.UniqueViolation:
                raise DuplicateRecord(f"conflict {conflict.id} already exists") from None
            return conflict

        return await self._store.transaction(work)

    async def get(self, conflict_id: str) -> Conflict:
        """The conflict, or :class:`NotFound`."""
        return await self._store.transaction(
            lambda conn: fetch_record(
                conn, "conflicts", Conflict, conflict_id, _missing(conflict_id)
            )
        )

    async def find(
        self,
        *,
        phase: ConflictPhase | None = None,
        binding: str | None = None,
        limit: int | None = None,
    ) -> list[Conflict]:
        """Conflicts (in a phase, of a binding), oldest first."""
        query, params = find_query("conflicts", phase, binding, limit)
        return [
            Conflict.model_validate_json(r[0]) for r in await self._store.fetchall(query, params)
        ]

    async def save(self, conflict: Conflict, *, expected_phase: ConflictPhase) -> Conflict:
        """Replace the stored conflict if still in ``expected_phase`` (compare-and-set)."""

        async def work(conn: Conn) -> Conflict:
            stored = await fetch_record(
                conn, "conflicts", Conflict, conflict.id, _missing(conflict.id), lock=True
            )
            if stored.phase is not expected_phase:
                raise PhaseMismatch(
                    "conflict", conflict.id, expected_phase.value, stored.phase.value
                )
            check_history("conflict", stored, conflict)
            await conn.execute(
                "UPDATE conflicts SET phase = %s, intent_id = %s, record = %s WHERE id = %s",
                (conflict.phase.value, conflict.intent_id, dump(conflict), conflict.id),
            )
            return conflict

        return await self._store.transaction(work)
