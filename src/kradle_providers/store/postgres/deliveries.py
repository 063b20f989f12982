"""Webhook delivery records, raw bodies and delivery claims in PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from psycopg import errors

from kradle_providers.errors import NotFound
from kradle_providers.store.claims import (
    DELIVERY_IN_FLIGHT,
    INTAKE_GRACE,
    SqlDialect,
    claim_moves,
    delivery_update,
    epoch,
    releases_claim,
)
from kradle_providers.store.errors import DuplicateRecord, LeaseLost
from kradle_providers.store.sqlite.rows import dump, ts
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.webhooks.deliveries import DeliveryRecord

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn, PostgresStateStore

__all__ = ["PostgresDeliveryRepository"]

_SQL = SqlDialect(mark="%s", greatest="GREATEST")
_IN_FLIGHT = tuple(p.value for p in DELIVERY_IN_FLIGHT)

# Oldest first; SKIP LOCKED: a row another replica is claiming right now is
# simply not ours, nobody waits.
_CLAIM = """
SELECT id, record, CASE WHEN %(bodies)s THEN body END FROM deliveries
WHERE (phase = 'Queued' AND COALESCE(lease_until, 0) <= %(now)s)
   OR (phase = 'Retrying' AND COALESCE(next_attempt_at, 0) <= %(now)s
       AND COALESCE(lease_until, 0) <= %(now)s)
   OR (phase = ANY(%(in_flight)s) AND COALESCE(lease_until, 0) <= %(now)s)
ORDER BY received_at, seq
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""


class PostgresDeliveryRepository:
    """Delivery records with raw bodies, claimed by workers with expiring leases."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def add(self, record: DeliveryRecord, body: bytes | None = None) -> None:
        """Store a new record; :class:`DuplicateRecord` for an existing record id."""
        # A record added in flight (Received) is recovered after the grace; one added
        # Queued is claimable at once.
        lease = None if releases_claim(record.phase) else epoch(self._store.now() + INTAKE_GRACE)

        # One statement is atomic on its own: no BEGIN/COMMIT round trips around it.
        try:
            await self._store.execute(
                "INSERT INTO deliveries (id, provider, instance, delivery_id, phase, "
                "received_at, record, body, lease_until) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    record.id,
                    record.provider,
                    record.instance,
                    record.delivery_id,
                    record.phase.value,
                    ts(record.received_at),
                    dump(record),
                    body,
                    lease,
                ),
            )
        except errors.UniqueViolation:
            raise DuplicateRecord(
                f"delivery record {record.id} already exists; records are added once, "
                "then moved with update_phase"
            ) from None

    async def get(self, record_id: str) -> DeliveryRecord:
        """The record, or :class:`NotFound`."""
        row = await self._store.fetchone(
            "SELECT record FROM deliveries WHERE id = %s", (record_id,)
        )
        if row is None:
            raise NotFound(f"no delivery record {record_id!r}; list records by phase to find it")
        return DeliveryRecord.model_validate_json(row[0])

    async def get_body(self, record_id: str) -> bytes | None:
        """The raw body stored with the record, if any."""
        row = await self._store.fetchone("SELECT body FROM deliveries WHERE id = %s", (record_id,))
        return None if row is None or row[0] is None else bytes(row[0])

    async def update_phase(
        self,
        record_id: str,
        phase: DeliveryPhase,
        *,
        note: str | None = None,
        error: str | None = None,
        action: str | None = None,
        explicit: bool = False,
    ) -> DeliveryRecord:
        """Move the record to ``phase`` (enforced), atomically; returns the new record."""
        now = self._store.now()

        async def work(conn: Conn) -> DeliveryRecord:
            record, _ = await _locked(conn, record_id)
            updated = record.advance(
                phase, at=now, note=note, error=error, action=action, explicit=explicit
            )
            await conn.execute(
                *delivery_update(updated, _SQL, lease_until=epoch(now + INTAKE_GRACE))
            )
            return updated

        return await self._store.transaction(work)

    async def list_by_phase(self, phase: DeliveryPhase) -> list[DeliveryRecord]:
        """Every record currently in ``phase``, oldest first."""
        rows = await self._store.fetchall(
            "SELECT record FROM deliveries WHERE phase = %s ORDER BY received_at, seq",
            (phase.value,),
        )
        return [DeliveryRecord.model_validate_json(r[0]) for r in rows]

    async def count_by_phase(self) -> dict[DeliveryPhase, int]:
        """How many records are in each phase (phases with none are omitted)."""
        rows = await self._store.fetchall("SELECT phase, COUNT(*) FROM deliveries GROUP BY phase")
        return {DeliveryPhase(p): int(n) for p, n in rows}

    async def find_by_delivery_id(self, provider: str, delivery_id: str) -> list[DeliveryRecord]:
        """Every record of the provider's delivery id, oldest first."""
        rows = await self._store.fetchall(
            "SELECT record FROM deliveries WHERE provider = %s AND delivery_id = %s "
            "ORDER BY received_at, seq",
            (provider, delivery_id),
        )
        return [DeliveryRecord.model_validate_json(r[0]) for r in rows]

    # ------------------------------------------------------------------ claims

    async def claim(self, worker: str, *, lease: timedelta, limit: int = 1) -> list[DeliveryRecord]:
        """Claim up to ``limit`` claimable deliveries for ``worker``.

        See :mod:`kradle_providers.store.claims`.
        """
        return [record for record, _ in await self._claim(worker, lease, limit, start=False)]

    async def claim_started(
        self, worker: str, *, lease: timedelta, limit: int = 1
    ) -> list[tuple[DeliveryRecord, bytes | None]]:
        """:meth:`claim`, each moved on to ``Normalizing`` in the same write, with its body."""
        return await self._claim(worker, lease, limit, start=True)

    async def _claim(
        self, worker: str, lease: timedelta, limit: int, *, start: bool
    ) -> list[tuple[DeliveryRecord, bytes | None]]:
        now = self._store.now()
        params = {
            "now": epoch(now),
            "in_flight": list(_IN_FLIGHT),
            "limit": max(1, limit),
            "bodies": start,
        }
        until = epoch(now + lease)

        async def work(conn: Conn) -> list[tuple[DeliveryRecord, bytes | None]]:
            cur = await conn.execute(_CLAIM, params)
            claimed = []
            for _, text, body in await cur.fetchall():
                record = claim_moves(DeliveryRecord.model_validate_json(text), now)
                if start:
                    record = record.advance(DeliveryPhase.NORMALIZING, at=now)
                await conn.execute(
                    "UPDATE deliveries SET phase = %s, record = %s, claimed_by = %s, "
                    "lease_until = %s, next_attempt_at = NULL WHERE id = %s",
                    (record.phase.value, dump(record), worker, until, record.id),
                )
                claimed.append((record, None if body is None else bytes(body)))
            return claimed

        return await self._store.transaction(work)

    async def renew(self, record_id: str, worker: str, *, lease: timedelta) -> bool:
        """Extend ``worker``'s lease on the record; ``False`` if it no longer holds it."""
        until = epoch(self._store.now() + lease)
        changed = await self._store.execute(
            "UPDATE deliveries SET lease_until = %s WHERE id = %s AND claimed_by = %s",
            (until, record_id, worker),
        )
        return changed == 1

    async def advance_claimed(
        self,
        record_id: str,
        worker: str,
        phase: DeliveryPhase,
        *,
        note: str | None = None,
        error: str | None = None,
        action: str | None = None,
        retry_at: datetime | None = None,
    ) -> DeliveryRecord:
        """Move a record ``worker`` holds; :class:`LeaseLost` if another worker took it."""
        now = self._store.now()

        async def work(conn: Conn) -> DeliveryRecord:
            record, holder = await _locked(conn, record_id)
            if holder != worker:
                raise LeaseLost("delivery", record_id, worker)
            updated = record.advance(phase, at=now, note=note, error=error, action=action)
            await conn.execute(
                *delivery_update(updated, _SQL, claimed_by=worker, retry_at=retry_at)
            )
            return updated

        return await self._store.transaction(work)

    async def save_claimed(
        self,
        record: DeliveryRecord,
        worker: str,
        *,
        was: DeliveryPhase,
        retry_at: datetime | None = None,
    ) -> None:
        """Store ``record`` (moved on in memory from phase ``was``) if ``worker`` holds it."""
        update = delivery_update(record, _SQL, claimed_by=worker, retry_at=retry_at, was=was)
        if await self._store.execute(*update) == 1:
            return
        if await self._store.fetchone("SELECT 1 FROM deliveries WHERE id = %s", (record.id,)):
            raise LeaseLost("delivery", record.id, worker)
        raise NotFound(f"no delivery record {record.id!r}; list records by phase to find it")


async def _locked(conn: Conn, record_id: str) -> tuple[DeliveryRecord, str | None]:
    cur = await conn.execute(
        "SELECT record, claimed_by FROM deliveries WHERE id = %s FOR UPDATE", (record_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no delivery record {record_id!r}; list records by phase to find it")
    return DeliveryRecord.model_validate_json(row[0]), row[1]
