"""Write intents in PostgreSQL, with compare-and-set phase changes and send claims."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from psycopg import errors

from kradle_providers.errors import InvalidInput
from kradle_providers.store.claims import INTENT_CLAIMABLE, epoch
from kradle_providers.store.errors import DuplicateRecord, PhaseMismatch
from kradle_providers.store.postgres.records import fetch_record, find_query
from kradle_providers.store.sqlite.rows import check_history, dump, ts
from kradle_providers.sync.phases import WriteIntentPhase
from kradle_providers.sync.records import WriteIntent

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn, PostgresStateStore

__all__ = ["PostgresWriteIntentRepository"]

_CLAIM = """
SELECT id, record FROM write_intents
WHERE (phase = ANY(%(claimable)s) OR phase = 'Sending')
  AND COALESCE(lease_until, 0) <= %(now)s
  AND (%(binding)s::text IS NULL OR binding = %(binding)s)
  AND (phase <> 'Sending' OR claimed_by IS NOT NULL)
ORDER BY created_at, seq
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""


def _missing(intent_id: str) -> str:
    return f"no write intent {intent_id!r}; list intents by phase to find it"


class PostgresWriteIntentRepository:
    """Write intents with compare-and-set phase changes."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def create(self, intent: WriteIntent) -> WriteIntent:
        """Store a new intent; :class:`DuplicateRecord` if its id or idempotency key exists."""

        async def work(conn: Conn) -> WriteIntent:
            try:
                await conn.execute(
                    "INSERT INTO write_intents (id, binding, phase, idempotency_key, "
                    "conflict_id, created_at, record) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
            except errors.UniqueViolation:
                raise DuplicateRecord(
                    f"a write intent already has id {intent.id!r} or idempotency key "
                    f"{intent.idempotency_key!r}; find_by_idempotency_key() returns it "
                    "(a retried request must reuse it, not create a second write)"
                ) from None
            except errors.ForeignKeyViolation:
                raise _no_conflict() from None
            return intent

        return await self._store.transaction(work)

    async def get(self, intent_id: str) -> WriteIntent:
        """The intent, or :class:`NotFound`."""
        return await self._store.transaction(
            lambda conn: fetch_record(
                conn, "write_intents", WriteIntent, intent_id, _missing(intent_id)
            )
        )

    async def find_by_idempotency_key(self, key: str) -> WriteIntent | None:
        """The intent created with ``key``, if any."""
        row = await self._store.fetchone(
            "SELECT record FROM write_intents WHERE idempotency_key = %s", (key,)
        )
        return None if row is None else WriteIntent.model_validate_json(row[0])

    async def find(
        self,
        *,
        phase: WriteIntentPhase | None = None,
        binding: str | None = None,
        limit: int | None = None,
    ) -> list[WriteIntent]:
        """Intents (in a phase, of a binding), oldest first."""
        query, params = find_query("write_intents", phase, binding, limit)
        rows = await self._store.fetchall(query, params)
        return [WriteIntent.model_validate_json(r[0]) for r in rows]

    async def save(self, intent: WriteIntent, *, expected_phase: WriteIntentPhase) -> WriteIntent:
        """Replace the stored intent if still in ``expected_phase`` (compare-and-set)."""

        async def work(conn: Conn) -> WriteIntent:
            missing = f"no write intent {intent.id!r}; create it before saving changes"
            stored = await fetch_record(
                conn, "write_intents", WriteIntent, intent.id, missing, lock=True
            )
            if stored.phase is not expected_phase:
                raise PhaseMismatch(
                    "write intent", intent.id, expected_phase.value, stored.phase.value
                )
            if (stored.idempotency_key, stored.binding) != (
                intent.idempotency_key,
                intent.binding,
            ):
                raise InvalidInput(
                    "a write intent's binding and idempotency key never change; create a new "
                    "intent",
                    field="idempotency_key",
                )
            check_history("write intent", stored, intent)
            return await _write(conn, intent)

        return await self._store.transaction(work)

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
        """Read, move to ``phase`` (enforced) and write back, in one transaction."""
        at = self._store.now()

        async def work(conn: Conn) -> WriteIntent:
            current = await fetch_record(
                conn, "write_intents", WriteIntent, intent_id, _missing(intent_id), lock=True
            )
            if expected_phase is not None and current.phase is not expected_phase:
                raise PhaseMismatch(
                    "write intent", intent_id, expected_phase.value, current.phase.value
                )
            updated = current.advance(phase, at=at, note=note, explicit=explicit, **changes)
            return await _write(conn, updated)

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
        """Claim intents to send (see :meth:`WriteIntentClaims.claim`)."""
        now = self._store.now()
        params = {
            "claimable": [p.value for p in INTENT_CLAIMABLE],
            "now": epoch(now),
            "binding": binding,
            "limit": max(1, limit),
        }

        async def work(conn: Conn) -> list[WriteIntent]:
            cur = await conn.execute(_CLAIM, params)
            rows = await cur.fetchall()
            for intent_id, _ in rows:
                await conn.execute(
                    "UPDATE write_intents SET claimed_by = %s, lease_until = %s WHERE id = %s",
                    (worker, epoch(now + lease), intent_id),
                )
            return [WriteIntent.model_validate_json(text) for _, text in rows]

        return await self._store.transaction(work)

    async def renew(self, intent_id: str, worker: str, *, lease: timedelta) -> bool:
        """Extend ``worker``'s claim; ``False`` if another worker took the intent over."""
        changed = await self._store.execute(
            "UPDATE write_intents SET lease_until = %s WHERE id = %s AND claimed_by = %s",
            (epoch(self._store.now() + lease), intent_id, worker),
        )
        return changed == 1

    async def release(self, intent_id: str, worker: str) -> None:
        """End ``worker``'s claim (after moving the intent on)."""
        await self._store.execute(
            "UPDATE write_intents SET claimed_by = NULL, lease_until = NULL "
            "WHERE id = %s AND claimed_by = %s",
            (intent_id, worker),
        )


def _no_conflict() -> InvalidInput:
    return InvalidInput(
        "the write intent links a conflict that does not exist; create the conflict first",
        field="conflict_id",
    )


async def _write(conn: Conn, intent: WriteIntent) -> WriteIntent:
    try:
        await conn.execute(
            "UPDATE write_intents SET phase = %s, conflict_id = %s, record = %s WHERE id = %s",
            (intent.phase.value, intent.conflict_id, dump(intent), intent.id),
        )
    except errors.ForeignKeyViolation:
        raise _no_conflict() from None
    return intent
