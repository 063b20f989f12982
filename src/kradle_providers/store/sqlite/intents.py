"""Write intents in SQLite, with compare-and-set phase changes."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kradle_providers.errors import InvalidInput
from kradle_providers.store.claims import INTENT_CLAIMABLE, epoch
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
    integrity_error,
    ts,
)
from kradle_providers.sync.phases import WriteIntentPhase
from kradle_providers.sync.records import WriteIntent

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteWriteIntentRepository"]

_CLAIMABLE = ", ".join(f"'{p.value}'" for p in INTENT_CLAIMABLE)
_CLAIM = f"""
SELECT id, record FROM write_intents
WHERE (phase IN ({_CLAIMABLE}) OR (phase = 'Sending' AND claimed_by IS NOT NULL))
  AND COALESCE(lease_until, 0) <= :now
  AND (:binding IS NULL OR binding = :binding)
ORDER BY created_at, rowid
LIMIT :limit
"""  # noqa: S608 - phase names are ours


def _get_intent(conn: Conn, intent_id: str) -> WriteIntent:
    missing = f"no write intent {intent_id!r}; list intents by phase to find it"
    return fetch_record(conn, "write_intents", WriteIntent, intent_id, missing)


class SqliteWriteIntentRepository:
    """Write intents with compare-and-set phase changes."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def create(self, intent: WriteIntent) -> WriteIntent:
        """Store a new intent; :class:`DuplicateRecord` if its id or idempotency key exists."""

        def work(conn: Conn) -> WriteIntent:
            existing = conn.execute(
                "SELECT id FROM write_intents WHERE id = ? OR idempotency_key = ?",
                (intent.id, intent.idempotency_key),
            ).fetchone()
            if existing is not None:
                raise DuplicateRecord(
                    f"write intent {existing[0]} already has id {intent.id!r} or idempotency "
                    f"key {intent.idempotency_key!r}; find_by_idempotency_key() returns it "
                    "(a retried request must reuse it, not create a second write)"
                )
            try:
                conn.execute(
                    "INSERT INTO write_intents (id, binding, phase, idempotency_key, conflict_id, "
                    "created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        intent.id,
                        intent.binding,
                        intent.phase.value,
                        intent.idempotency_key,
                        intent.conflict_id,
                        ts(intent.created_at),
                        dump(intent),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise integrity_error("write intent", exc) from None
            return intent

        return await self._store.transaction(work)

    async def get(self, intent_id: str) -> WriteIntent:
        """The intent, or :class:`NotFound`."""
        return await self._store.call(lambda conn: _get_intent(conn, intent_id))

    async def find_by_idempotency_key(self, key: str) -> WriteIntent | None:
        """The intent created with ``key``, if any."""

        def work(conn: Conn) -> WriteIntent | None:
            row = conn.execute(
                "SELECT record FROM write_intents WHERE idempotency_key = ?", (key,)
            ).fetchone()
            return None if row is None else WriteIntent.model_validate_json(row[0])

        return await self._store.call(work)

    async def find(
        self,
        *,
        phase: WriteIntentPhase | None = None,
        binding: str | None = None,
        limit: int | None = None,
    ) -> list[WriteIntent]:
        """Intents (in a phase, of a binding), oldest first."""
        return await self._store.call(
            lambda conn: find_records(conn, "write_intents", WriteIntent, phase, binding, limit)
        )

    async def save(self, intent: WriteIntent, *, expected_phase: WriteIntentPhase) -> WriteIntent:
        """Replace the stored intent if still in ``expected_phase`` (compare-and-set)."""
        return await self._store.transaction(lambda conn: self._save(conn, intent, expected_phase))

    def _save(self, conn: Conn, intent: WriteIntent, expected: WriteIntentPhase) -> WriteIntent:
        missing = f"no write intent {intent.id!r}; create it before saving changes"
        stored = fetch_record(conn, "write_intents", WriteIntent, intent.id, missing)
        if stored.phase is not expected:
            raise PhaseMismatch("write intent", intent.id, expected.value, stored.phase.value)
        if (stored.idempotency_key, stored.binding) != (intent.idempotency_key, intent.binding):
            raise InvalidInput(
                "a write intent's binding and idempotency key never change; create a new intent",
                field="idempotency_key",
            )
        check_history("write intent", stored, intent)
        return self._write(conn, stored, intent)

    def _write(self, conn: Conn, stored: WriteIntent, intent: WriteIntent) -> WriteIntent:
        try:
            conn.execute(
                "UPDATE write_intents SET phase = ?, conflict_id = ?, record = ? "
                "WHERE id = ? AND phase = ?",
                (
                    intent.phase.value,
                    intent.conflict_id,
                    dump(intent),
                    intent.id,
                    stored.phase.value,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise integrity_error("write intent", exc) from None
        return intent

    async def advance(
        self,
        intent_id: str,
        phase: WriteIntentPhase,
        *,
        expected_phase: WriteIntentPhase | None = None,
        explicit: bool = False,
        note: str | None = None,
        **changes: Any,
    ) -> WriteIntent:
        """Read, move to ``phase`` (enforced) and write back, in one transaction.

        With ``expected_phase``, raises :class:`PhaseMismatch` if the intent has
        moved on: two workers racing to send the same intent cannot both win.
        """
        at = self._store.now()

        def work(conn: Conn) -> WriteIntent:
            current = _get_intent(conn, intent_id)
            if expected_phase is not None and current.phase is not expected_phase:
                raise PhaseMismatch(
                    "write intent", intent_id, expected_phase.value, current.phase.value
                )
            updated = current.advance(phase, at=at, note=note, explicit=explicit, **changes)
            return self._write(conn, current, updated)

        return await self._store.transaction(work)

    # ------------------------------------------------------------------ claims

    async def claim(
        self,
        worker: str,
        *,
        lease: timedelta,
        binding: str | None = None,
        limit: int = 1,
    ) -> list[WriteIntent]:
        """Claim intents to send (see :meth:`WriteIntentRepository.claim`)."""
        now = self._store.now()
        params = {"now": epoch(now), "binding": binding, "limit": max(1, limit)}
        until = epoch(now + lease)

        def work(conn: Conn) -> list[WriteIntent]:
            rows = conn.execute(_CLAIM, params).fetchall()
            for intent_id, _ in rows:
                conn.execute(
                    "UPDATE write_intents SET claimed_by = ?, lease_until = ? WHERE id = ?",
                    (worker, until, intent_id),
                )
            return [WriteIntent.model_validate_json(text) for _, text in rows]

        return await self._store.transaction(work)

    async def renew(self, intent_id: str, worker: str, *, lease: timedelta) -> bool:
        """Extend ``worker``'s claim; ``False`` if another worker took the intent over."""
        until = epoch(self._store.now() + lease)

        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE write_intents SET lease_until = ? WHERE id = ? AND claimed_by = ?",
                (until, intent_id, worker),
            )
            return cur.rowcount == 1

        return await self._store.call(work)

    async def release(self, intent_id: str, worker: str) -> None:
        """End ``worker``'s claim (after moving the intent on)."""
        await self._store.call(
            lambda conn: conn.execute(
                "UPDATE write_intents SET claimed_by = NULL, lease_until = NULL "
                "WHERE id = ? AND claimed_by = ?",
                (intent_id, worker),
            )
        )
