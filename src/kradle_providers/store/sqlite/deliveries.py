"""Webhook delivery records and their raw bodies in SQLite."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from kradle_providers.store.errors import DuplicateRecord
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
        )

        def work(conn: Conn) -> None:
            try:
                conn.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
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
            conn.execute(
                "UPDATE deliveries SET phase = ?, record = ? WHERE id = ?",
                (updated.phase.value, dump(updated), record_id),
            )
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


def _get_delivery(conn: Conn, record_id: str) -> DeliveryRecord:
    missing = f"no delivery record {record_id!r}; list records by phase to find it"
    return fetch_record(conn, "deliveries", DeliveryRecord, record_id, missing)
