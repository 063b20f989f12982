"""Conflicts in SQLite, with compare-and-set phase changes."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from kradle_providers.store.errors import (
    DuplicateRecord,
    PhaseMismatch,
)
from kradle_providers.store.sqlite.rows import (
    Conn,
    check_history,
    dump,
    fetch_record,
    find_records,
    ts,
)
from kradle_providers.sync.phases import ConflictPhase
from kradle_providers.sync.records import Conflict

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteConflictRepository"]


def _get_conflict(conn: Conn, conflict_id: str) -> Conflict:
    missing = f"no conflict {conflict_id!r}; list conflicts by phase to find it"
    return fetch_record(conn, "conflicts", Conflict, conflict_id, missing)


class SqliteConflictRepository:
    """Conflicts, with compare-and-set phase changes."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def create(self, conflict: Conflict) -> Conflict:
        """Store a new conflict; :class:`DuplicateRecord` if its id exists."""

        def work(conn: Conn) -> Conflict:
            try:
                conn.execute(
                    "INSERT INTO conflicts VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        conflict.id,
                        conflict.binding,
                        conflict.phase.value,
                        conflict.intent_id,
                        ts(conflict.created_at),
                        dump(conflict),
                    ),
                )
            except sqlite3.IntegrityError:
                raise DuplicateRecord(f"conflict {conflict.id} already exists") from None
            return conflict

        return await self._store.call(work)

    async def get(self, conflict_id: str) -> Conflict:
        """The conflict, or :class:`NotFound`."""
        return await self._store.call(lambda conn: _get_conflict(conn, conflict_id))

    async def find(
        self,
        *,
        phase: ConflictPhase | None = None,
        binding: str | None = None,
        limit: int | None = None,
    ) -> list[Conflict]:
        """Conflicts (in a phase, of a binding), oldest first."""
        return await self._store.call(
            lambda conn: find_records(conn, "conflicts", Conflict, phase, binding, limit)
        )

    async def save(self, conflict: Conflict, *, expected_phase: ConflictPhase) -> Conflict:
        """Replace the stored conflict if still in ``expected_phase`` (compare-and-set)."""

        def work(conn: Conn) -> Conflict:
            stored = _get_conflict(conn, conflict.id)
            if stored.phase is not expected_phase:
                raise PhaseMismatch(
                    "conflict", conflict.id, expected_phase.value, stored.phase.value
                )
            check_history("conflict", stored, conflict)
            conn.execute(
                "UPDATE conflicts SET phase = ?, intent_id = ?, record = ? WHERE id = ?",
                (conflict.phase.value, conflict.intent_id, dump(conflict), conflict.id),
            )
            return conflict

        return await self._store.transaction(work)
