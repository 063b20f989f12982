"""Projected external objects in PostgreSQL, applied in version order.

The ordering rule is :func:`kradle_providers.store.ordering.decide`, applied in
Python on the locked stored row, exactly as the SQLite store does: replicas
applying the same object at once serialize on that row's lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import CanonicalObject, Interface, Version
from kradle_providers.store.ordering import ApplyOutcome, Head, decide
from kradle_providers.store.sqlite.projections import (
    PROJECTION_COLUMNS,
    Incoming,
    incoming_deletion,
    incoming_object,
    projection_from_row,
)
from kradle_providers.store.sqlite.rows import ts
from kradle_providers.sync.records import ObjectKey, Projection, ProjectionSource

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn, PostgresStateStore

__all__ = ["PostgresProjectionRepository", "apply_row", "apply_rows"]

_IDENT_WHERE = (
    "binding = %s AND provider_type = %s AND instance = %s AND interface = %s "
    "AND kind = %s AND native_id = %s"
)
_SELECT_HEAD = (
    "SELECT pk, version_key, tombstoned, content_digest FROM projections WHERE "  # noqa: S608
    + _IDENT_WHERE
    + " FOR UPDATE"
)


async def apply_row(conn: Conn, row: Incoming) -> ApplyOutcome:
    """Apply one prepared state inside the caller's transaction."""
    outcome = await _insert_new(conn, row)
    if outcome is not None:
        return outcome
    cur = await conn.execute(_SELECT_HEAD.encode(), row.ident)
    found = await cur.fetchone()
    assert found is not None  # the insert above found it
    outcome = decide(Head(found[1], bool(found[2]), found[3]), row.head)
    if not outcome.changed:
        return outcome
    if row.head.tombstoned:
        # Keep the last live content: it says what was deleted.
        await conn.execute(
            "UPDATE projections SET version = %s, version_key = %s, tombstoned = TRUE, "
            "tombstoned_at = %s, updated_at = %s, source = %s, last_delivery_id = %s "
            "WHERE pk = %s",
            (
                row.version_json,
                row.head.sort_key,
                row.tombstoned_at,
                row.at,
                row.source,
                row.delivery_id,
                found[0],
            ),
        )
    else:
        await conn.execute(
            "UPDATE projections SET native_kind = %s, object = %s, version = %s, "
            "version_key = %s, content_digest = %s, tombstoned = FALSE, tombstoned_at = NULL, "
            "updated_at = %s, source = %s, last_delivery_id = %s WHERE pk = %s",
            (
                row.native_kind,
                row.object_json,
                row.version_json,
                row.head.sort_key,
                row.head.digest,
                row.at,
                row.source,
                row.delivery_id,
                found[0],
            ),
        )
    return outcome


async def _insert_new(conn: Conn, row: Incoming) -> ApplyOutcome | None:
    """Insert a never-seen object (its outcome), or ``None`` when a row exists already."""
    cur = await conn.execute(
        "INSERT INTO projections (binding, provider_type, instance, interface, kind, "
        "native_id, native_kind, object, version, version_key, content_digest, tombstoned, "
        "tombstoned_at, first_seen_at, updated_at, source, last_delivery_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (
            *row.ident,
            row.native_kind,
            row.object_json,
            row.version_json,
            row.head.sort_key,
            row.head.digest,
            row.head.tombstoned,
            row.tombstoned_at,
            row.at,
            row.at,
            row.source,
            row.delivery_id,
        ),
    )
    if cur.rowcount == 0:
        return None
    return decide(None, row.head)


_BULK_AT_LEAST = 4
_IDENT_COLUMNS = "binding, provider_type, instance, interface, kind, native_id"
_BULK_HEADS = (
    "SELECT pk, " + _IDENT_COLUMNS + ", native_kind, object, version, version_key, "  # noqa: S608
    "content_digest, tombstoned, tombstoned_at, updated_at, source, last_delivery_id "
    "FROM projections WHERE (" + _IDENT_COLUMNS + ") IN "
    "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
    "%s::text[])) ORDER BY pk FOR UPDATE"
)
_BULK_INSERT = (
    "INSERT INTO projections (" + _IDENT_COLUMNS + ", native_kind, object, version, "  # noqa: S608
    "version_key, content_digest, tombstoned, tombstoned_at, first_seen_at, updated_at, "
    "source, last_delivery_id) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::boolean[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) "
    "ON CONFLICT DO NOTHING RETURNING pk"
)
_BULK_UPDATE = (
    "UPDATE projections SET native_kind = %s, object = %s, version = %s, version_key = %s, "
    "content_digest = %s, tombstoned = %s, tombstoned_at = %s, updated_at = %s, source = %s, "
    "last_delivery_id = %s WHERE pk = %s"
)

# The stored columns after the identity, in _BULK_HEADS order (pk and first_seen_at apart).
_Row = list[Any]  # native_kind, object, version, version_key, digest, tombstoned,
#                  tombstoned_at, updated_at, source, last_delivery_id


class _Conflict(Exception):
    """A replica inserted one of the page's new objects meanwhile: apply row by row."""


async def apply_rows(conn: Conn, rows: list[Incoming]) -> list[ApplyOutcome]:
    """Apply prepared states in order, inside the caller's transaction.

    A page is applied in a few statements (its stored heads locked at once, the
    ordering rule run in Python, inserts and updates sent in bulk) rather than
    three round trips per object; outcomes are those of applying one by one.
    """
    if len(rows) >= _BULK_AT_LEAST:
        try:
            async with conn.transaction():  # a savepoint: undone on conflict
                return await _apply_bulk(conn, rows)
        except _Conflict:
            pass
    return [await apply_row(conn, row) for row in rows]


async def _apply_bulk(conn: Conn, rows: list[Incoming]) -> list[ApplyOutcome]:
    idents = list(dict.fromkeys(row.ident for row in rows))
    cur = await conn.execute(_BULK_HEADS.encode(), [list(c) for c in zip(*idents, strict=True)])
    stored: dict[tuple[str, ...], tuple[int | None, _Row]] = {
        tuple(found[1:7]): (int(found[0]), list(found[7:])) for found in await cur.fetchall()
    }
    changed: dict[tuple[str, ...], None] = {}  # in first-change order: pk order = page order
    outcomes: list[ApplyOutcome] = []
    for row in rows:
        current = stored.get(row.ident)
        head = None if current is None else Head(current[1][3], bool(current[1][5]), current[1][4])
        outcome = decide(head, row.head)
        outcomes.append(outcome)
        if not outcome.changed:
            continue
        changed[row.ident] = None
        if current is None:
            stored[row.ident] = (None, _new_state(row))
        elif row.head.tombstoned:
            state = current[1]  # keep the last live content: it says what was deleted
            state[2:4] = [row.version_json, row.head.sort_key]
            state[5:10] = [True, row.tombstoned_at, row.at, row.source, row.delivery_id]
        else:
            current[1][:] = _new_state(row)
    inserts = [(ident, stored[ident][1]) for ident in changed if stored[ident][0] is None]
    updates = [(stored[ident][0], stored[ident][1]) for ident in changed if stored[ident][0]]
    if inserts:
        columns = [
            [*ident, *state[:8], state[7], *state[8:]]  # first_seen_at = updated_at
            for ident, state in inserts
        ]
        # unnest wants one array per column; booleans stay booleans.
        cur = await conn.execute(
            _BULK_INSERT.encode(), [list(c) for c in zip(*columns, strict=True)]
        )
        if len(await cur.fetchall()) != len(inserts):
            raise _Conflict
    if updates:
        async with conn.cursor() as cur:
            await cur.executemany(_BULK_UPDATE.encode(), [[*state, pk] for pk, state in updates])
    return outcomes


def _new_state(row: Incoming) -> _Row:
    return [
        row.native_kind,
        row.object_json,
        row.version_json,
        row.head.sort_key,
        row.head.digest,
        row.head.tombstoned,
        row.tombstoned_at,
        row.at,
        row.source,
        row.delivery_id,
    ]


class PostgresProjectionRepository:
    """Projected objects, applied idempotently in version order."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def apply_object(
        self,
        binding: str,
        obj: CanonicalObject,
        *,
        source: ProjectionSource,
        delivery_id: str | None = None,
    ) -> ApplyOutcome:
        """Apply one object's state; returns what that did."""
        at, src = ts(self._store.now()), ProjectionSource(source).value
        row = incoming_object(binding, obj, src, delivery_id, at)
        return await self._store.transaction(lambda conn: apply_row(conn, row))

    async def apply_many(
        self,
        binding: str,
        objects: Iterable[CanonicalObject],
        *,
        source: ProjectionSource,
        delivery_id: str | None = None,
    ) -> list[ApplyOutcome]:
        """Apply a page of objects in one transaction; outcomes in input order."""
        at, src = ts(self._store.now()), ProjectionSource(source).value
        rows = [incoming_object(binding, obj, src, delivery_id, at) for obj in objects]

        async def work(conn: Conn) -> list[ApplyOutcome]:
            return await apply_rows(conn, rows)

        return await self._store.transaction(work)

    async def tombstone(
        self,
        binding: str,
        key: ObjectKey,
        *,
        version: Version | None = None,
        at: datetime | None = None,
        source: ProjectionSource = ProjectionSource.WEBHOOK,
        delivery_id: str | None = None,
    ) -> ApplyOutcome:
        """Mark the object deleted unless the stored state is newer (then ``stale``)."""
        now = self._store.now()
        src = ProjectionSource(source).value
        row = incoming_deletion(binding, key, version, at or now, src, delivery_id, ts(now))
        return await self._store.transaction(lambda conn: apply_row(conn, row))

    async def get(self, binding: str, key: ObjectKey) -> Projection | None:
        """The stored projection (tombstoned or not), or ``None``."""
        row = await self._store.fetchone(
            f"SELECT {PROJECTION_COLUMNS} FROM projections WHERE {_IDENT_WHERE}",  # noqa: S608
            (binding, *key.as_tuple()),
        )
        return None if row is None else projection_from_row(row)

    async def iter_projections(
        self,
        *,
        binding: str | None = None,
        interface: Interface | None = None,
        kind: str | None = None,
        include_tombstoned: bool = False,
        page_size: int = 500,
    ) -> AsyncIterator[Projection]:
        """Stream projections in pages of ``page_size`` (keyset paging, never all in memory)."""
        if page_size < 1:
            raise InvalidInput("page_size must be at least 1", field="page_size")
        where = ["pk > %s"]
        filters: list[Any] = []
        if binding is not None:
            where.append("binding = %s")
            filters.append(binding)
        if interface is not None:
            where.append("interface = %s")
            filters.append(Interface(interface).value)
        if kind is not None:
            where.append("kind = %s")
            filters.append(kind)
        if not include_tombstoned:
            where.append("NOT tombstoned")
        query = (
            f"SELECT {PROJECTION_COLUMNS} FROM projections WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY pk LIMIT %s"
        )
        last = 0
        while True:
            rows = await self._store.fetchall(query, (last, *filters, page_size))
            for row in rows:
                yield projection_from_row(row)
            if len(rows) < page_size:
                return
            last = int(rows[-1][0])

    async def count_by_kind(self, binding: str | None = None) -> dict[str, int]:
        """Live (non-tombstoned) objects per ``"<interface>/<Kind>"``."""
        query = "SELECT interface, kind, COUNT(*) FROM projections WHERE NOT tombstoned"
        params: tuple[str, ...] = ()
        if binding is not None:
            query += " AND binding = %s"
            params = (binding,)
        rows = await self._store.fetchall(
            query + " GROUP BY interface, kind ORDER BY interface, kind", params
        )
        return {f"{i}/{k}": int(n) for i, k, n in rows}

    async def purge_tombstones(self, before: datetime) -> int:
        """Forget tombstones older than ``before``; returns how many."""
        return await self._store.execute(
            "DELETE FROM projections WHERE tombstoned AND tombstoned_at < %s", (ts(before),)
        )
