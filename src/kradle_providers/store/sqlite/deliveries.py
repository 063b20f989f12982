"""Webhook delivery records and their raw bodies in SQLite."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

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
from kradle_providers.store.sqlite.rows import (
    Conn,
    dump,
    fetch_record,
    ts,
)
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.webhooks.deliveries import DeliveryRecord

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteDeliveryRepository"]

_SQL = SqlDialect(mark="?", greatest="MAX")
_IN_FLIGHT = ", ".join(f"'{p.value}'" for p in DELIVERY_IN_FLIGHT)

# One writer at a time (BEGIN IMMEDIATE), so selecting then updating is a claim.
# Each branch walks deliveries_by_phase in order and stops at :limit, so a claim
# costs the same with a backlog of thousands (one OR query sorted them all).
_CLAIM = f"""
SELECT id, record, CASE WHEN :bodies THEN (SELECT body FROM deliveries WHERE rowid = n) END
FROM (
  SELECT * FROM (SELECT id, record, received_at, rowid AS n FROM deliveries
    WHERE phase = 'Queued' AND COALESCE(lease_until, 0) <= :now
    ORDER BY received_at, rowid LIMIT :limit)
  UNION ALL
  SELECT * FROM (SELECT id, record, received_at, rowid AS n FROM deliveries
    WHERE phase = 'Retrying' AND COALESCE(next_attempt_at, 0) <= :now
      AND COALESCE(lease_until, 0) <= :now
    ORDER BY received_at, rowid LIMIT :limit)
  UNION ALL
  SELECT * FROM (SELECT id, record, received_at, rowid AS n FROM deliveries
    WHERE phase IN ({_IN_FLIGHT}) AND COALESCE(lease_until, 0) <= :now
    ORDER BY received_at, rowid LIMIT :limit)
)
ORDER BY received_at, n
LIMIT :limit
"""  # noqa: S608 - phase names are ours


class SqliteDeliveryRepository:
    """Delivery records with their raw bodies (kept for processing and replay)."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def add(self, record: DeliveryRecord, body: bytes | None = None) -> None:
        """Store a new record; :class:`DuplicateRecord` for an existing record id."""
        row = (
            record.id,
            record.provider,
            record.instance,
            record.delivery_id,
            record.phase.value,
            ts(record.received_at),
            dump(record),
            body,
            # A record added in flight (Received) is recovered after the grace; one added
            # Queued is claimable at once.
            None if releases_claim(record.phase) else epoch(self._store.now() + INTAKE_GRACE),
        )

        def work(conn: Conn) -> None:
            try:
                conn.execute(
                    "INSERT INTO deliveries (id, provider, instance, delivery_id, phase, "
                    "received_at, record, body, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.IntegrityError:
                raise DuplicateRecord(
                    f"delivery record {record.id} already exists; records are added once, "
                    "then moved with update_phase"
                ) from None

        await self._store.call(work)

    async def get(self, record_id: str) -> DeliveryRecord:
        """The record, or :class:`NotFound`."""
        return await self._store.call(lambda conn: _get_delivery(conn, record_id))

    async def get_body(self, record_id: str) -> bytes | None:
        """The raw body stored with the record, if any."""

        def work(conn: Conn) -> bytes | None:
            row = conn.execute("SELECT body FROM deliveries WHERE id = ?", (record_id,)).fetchone()
            return None if row is None or row[0] is None else bytes(row[0])

        return await self._store.call(work)

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
        at = self._store.now()

        def work(conn: Conn) -> DeliveryRecord:
            record = _get_delivery(conn, record_id)
            updated = record.advance(
                phase, at=at, note=note, error=error, action=action, explicit=explicit
            )
            conn.execute(*delivery_update(updated, _SQL, lease_until=epoch(at + INTAKE_GRACE)))
            return updated

        return await self._store.transaction(work)

    async def list_by_phase(self, phase: DeliveryPhase) -> list[DeliveryRecord]:
        """Every record currently in ``phase``, oldest first."""

        def work(conn: Conn) -> list[DeliveryRecord]:
            rows = conn.execute(
                "SELECT record FROM deliveries WHERE phase = ? ORDER BY received_at, rowid",
                (phase.value,),
            )
            return [DeliveryRecord.model_validate_json(r[0]) for r in rows]

        return await self._store.call(work)

    async def count_by_phase(self) -> dict[DeliveryPhase, int]:
        """How many records are in each phase (phases with none are omitted)."""

        def work(conn: Conn) -> dict[DeliveryPhase, int]:
            rows = conn.execute("SELECT phase, COUNT(*) FROM deliveries GROUP BY phase")
            return {DeliveryPhase(p): int(n) for p, n in rows}

        return await self._store.call(work)

    async def find_by_delivery_id(self, provider: str, delivery_id: str) -> list[DeliveryRecord]:
        """Every record of the provider's delivery id, oldest first."""

        def work(conn: Conn) -> list[DeliveryRecord]:
            rows = conn.execute(
                "SELECT record FROM deliveries WHERE provider = ? AND delivery_id = ? "
                "ORDER BY received_at, rowid",
                (provider, delivery_id),
            )
            return [DeliveryRecord.model_validate_json(r[0]) for r in rows]

        return await self._store.call(work)

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
        params = {"now": epoch(now), "limit": max(1, limit), "bodies": start}
        until = epoch(now + lease)

        def work(conn: Conn) -> list[tuple[DeliveryRecord, bytes | None]]:
            claimed = []
            for record_id, text, body in conn.execute(_CLAIM, params).fetchall():
                record = claim_moves(DeliveryRecord.model_validate_json(text), now)
                if start:
                    record = record.advance(DeliveryPhase.NORMALIZING, at=now)
                conn.execute(
                    "UPDATE deliveries SET phase = ?, record = ?, claimed_by = ?, "
                    "lease_until = ?, next_attempt_at = NULL WHERE id = ?",
                    (record.phase.value, dump(record), worker, until, record_id),
                )
                claimed.append((record, None if body is None else bytes(body)))
            return claimed

        return await self._store.transaction(work)

    async def renew(self, record_id: str, worker: str, *, lease: timedelta) -> bool:
        """Extend ``worker``'s lease on the record; ``False`` if it no longer holds it."""
        until = epoch(self._store.now() + lease)

        def work(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE deliveries SET lease_until = ? WHERE id = ? AND claimed_by = ?",
                (until, record_id, worker),
            )
            return cur.rowcount == 1

        return await self._store.call(work)

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
        at = self._store.now()

        def work(conn: Conn) -> DeliveryRecord:
            row = conn.execute(
                "SELECT claimed_by, record FROM deliveries WHERE id = ?", (record_id,)
            ).fetchone()
            if row is None:
                raise NotFound(
                    f"no delivery record {record_id!r}; list records by phase to find it"
                )
            if row[0] != worker:
                raise LeaseLost("delivery", record_id, worker)
            record = DeliveryRecord.model_validate_json(row[1])
            updated = record.advance(phase, at=at, note=note, error=error, action=action)
            conn.execute(*delivery_update(updated, _SQL, claimed_by=worker, retry_at=retry_at))
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

        def work(conn: Conn) -> None:
            if conn.execute(*update).rowcount == 1:
                return
            found = conn.execute("SELECT 1 FROM deliveries WHERE id = ?", (record.id,)).fetchone()
            if found is None:
                raise NotFound(_missing(record.id))
            raise LeaseLost("delivery", record.id, worker)

        await self._store.call(work)


def _missing(record_id: str) -> str:
    return f"no delivery record {record_id!r}; list records by phase to find it"


def _get_delivery(conn: Conn, record_id: str) -> DeliveryRecord:
    return fetch_record(conn, "deliveries", DeliveryRecord, record_id, _missing(record_id))
