"""Projected external objects in SQLite, applied in version order."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import CanonicalObject, Interface, Version
from kradle_providers.store.ordering import ApplyOutcome, Head, decide, encode_sort_key
from kradle_providers.store.sqlite.rows import (
    Conn,
    ts,
)
from kradle_providers.sync.records import (
    ObjectKey,
    Projection,
    ProjectionSource,
    kind_of,
)

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = [
    "Incoming",
    "SqliteProjectionRepository",
    "apply_row",
    "incoming_deletion",
    "incoming_object",
]


@dataclass(frozen=True, slots=True)
class Incoming:
    """One state to apply, prepared off the worker thread."""

    ident: tuple[str, str, str, str, str, str]  # binding + ObjectKey tuple
    native_kind: str | None
    object_json: str | None
    version_json: str
    head: Head
    tombstoned_at: str | None
    at: str
    source: str
    delivery_id: str | None


def incoming_object(
    binding: str,
    obj: CanonicalObject,
    source: str,
    delivery_id: str | None,
    at: str,
) -> Incoming:
    # The hot path of a backfill: one Rust-side JSON encoding, digested as is
    # (field order is the model's, so equal objects give equal text).
    if not isinstance(obj, CanonicalObject):
        raise InvalidInput(
            f"expected a canonical object (Issue, Pipeline, …), got {type(obj).__name__}",
            field="objects",
        )
    env = obj.external
    text = obj.model_dump_json()
    version = env.version
    return Incoming(
        ident=(
            binding,
            env.provider.type,
            env.provider.instance,
            env.interface.value,
            kind_of(obj),
            env.native_id,
        ),
        native_kind=env.native_kind,
        object_json=text,
        version_json=version.model_dump_json(),
        head=Head(
            encode_sort_key(version.sort_key()), False, hashlib.sha256(text.encode()).hexdigest()
        ),
        tombstoned_at=None,
        at=at,
        source=source,
        delivery_id=delivery_id,
    )


def incoming_deletion(
    binding: str,
    key: ObjectKey,
    version: Version | None,
    at: datetime,
    source: str,
    delivery_id: str | None,
    now: str,
) -> Incoming:
    if version is None or version.sort_key() == Version().sort_key():
        # No ordering information: order the deletion at when it was observed.
        version = (version or Version()).model_copy(update={"updated_at": at})
    return Incoming(
        ident=(binding, *key.as_tuple()),
        native_kind=None,
        object_json=None,
        version_json=version.model_dump_json(),
        head=Head(encode_sort_key(version.sort_key()), True, None),
        tombstoned_at=ts(at),
        at=now,
        source=source,
        delivery_id=delivery_id,
    )


_IDENT_WHERE = (
    "binding = ? AND provider_type = ? AND instance = ? AND interface = ? "
    "AND kind = ? AND native_id = ?"
)


_SELECT_HEAD = (
    "SELECT pk, version_key, tombstoned, content_digest FROM projections WHERE "  # noqa: S608
    + _IDENT_WHERE
)


def apply_row(conn: Conn, row: Incoming) -> ApplyOutcome:
    found = conn.execute(_SELECT_HEAD, row.ident).fetchone()
    stored = None if found is None else Head(found[1], bool(found[2]), found[3])
    outcome = decide(stored, row.head)
    if not outcome.changed:
        return outcome
    if found is None:
        conn.execute(
            "INSERT INTO projections (binding, provider_type, instance, interface, kind, "
            "native_id, native_kind, object, version, version_key, content_digest, tombstoned, "
            "tombstoned_at, first_seen_at, updated_at, source, last_delivery_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *row.ident,
                row.native_kind,
                row.object_json,
                row.version_json,
                row.head.sort_key,
                row.head.digest,
                int(row.head.tombstoned),
                row.tombstoned_at,
                row.at,
                row.at,
                row.source,
                row.delivery_id,
            ),
        )
    elif row.head.tombstoned:
        # Keep the last live content: it says what was deleted.
        conn.execute(
            "UPDATE projections SET version = ?, version_key = ?, tombstoned = 1, "
            "tombstoned_at = ?, updated_at = ?, source = ?, last_delivery_id = ? WHERE pk = ?",
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
        conn.execute(
            "UPDATE projections SET native_kind = ?, object = ?, version = ?, version_key = ?, "
            "content_digest = ?, tombstoned = 0, tombstoned_at = NULL, updated_at = ?, "
            "source = ?, last_delivery_id = ? WHERE pk = ?",
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


PROJECTION_COLUMNS = (
    "pk, binding, provider_type, instance, interface, kind, native_id, native_kind, object, "
    "version, tombstoned, tombstoned_at, first_seen_at, updated_at, source, last_delivery_id, "
    "content_digest"
)


def projection_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Projection:
    """A :class:`Projection` from a row of :data:`PROJECTION_COLUMNS` (both stores)."""
    return Projection(
        key=ObjectKey(
            provider_type=row[2],
            instance=row[3],
            interface=Interface(row[4]),
            kind=row[5],
            native_id=row[6],
        ),
        binding=row[1],
        native_kind=row[7],
        object=None if row[8] is None else json.loads(row[8]),
        version=Version.model_validate_json(row[9]),
        tombstoned=bool(row[10]),
        tombstoned_at=row[11],
        first_seen_at=row[12],
        updated_at=row[13],
        source=ProjectionSource(row[14]),
        last_delivery_id=row[15],
        content_digest=row[16],
    )


class SqliteProjectionRepository:
    """Projected objects, applied idempotently in version order.

    The ordering rule is :func:`kradle_providers.store.ordering.decide`.
    """

    def __init__(self, store: SqliteStateStore) -> None:
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
        return await self._store.transaction(lambda conn: [apply_row(conn, r) for r in rows])

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
        """Mark the object deleted unless the stored state is newer (then ``stale``).

        A deletion without a version is ordered at ``at`` (default: now). A
        later state with a newer version resurrects the object.
        """
        now = self._store.now()
        src = ProjectionSource(source).value
        row = incoming_deletion(binding, key, version, at or now, src, delivery_id, ts(now))
        return await self._store.transaction(lambda conn: apply_row(conn, row))

    async def get(self, binding: str, key: ObjectKey) -> Projection | None:
        """The stored projection (tombstoned or not), or ``None``."""
        ident = (binding, *key.as_tuple())

        def work(conn: Conn) -> Projection | None:
            row = conn.execute(
                f"SELECT {PROJECTION_COLUMNS} FROM projections WHERE {_IDENT_WHERE}",  # noqa: S608
                ident,
            ).fetchone()
            return None if row is None else projection_from_row(row)

        return await self._store.call(work)

    async def iter_projections(
        self,
        *,
        binding: str | None = None,
        interface: Interface | None = None,
        kind: str | None = None,
        include_tombstoned: bool = False,
        page_size: int = 500,
    ) -> AsyncIterator[Projection]:
        """Stream projections in pages of ``page_size`` (keyset paging, never all in memory).

        Objects applied while iterating may or may not be seen; none is seen twice.
        """
        if page_size < 1:
            raise InvalidInput("page_size must be at least 1", field="page_size")
        where = ["pk > ?"]
        filters: list[Any] = []
        if binding is not None:
            where.append("binding = ?")
            filters.append(binding)
        if interface is not None:
            where.append("interface = ?")
            filters.append(Interface(interface).value)
        if kind is not None:
            where.append("kind = ?")
            filters.append(kind)
        if not include_tombstoned:
            where.append("tombstoned = 0")
        sql = (
            f"SELECT {PROJECTION_COLUMNS} FROM projections WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY pk LIMIT ?"
        )

        def fetch(params: tuple[Any, ...]) -> Callable[[Conn], list[Any]]:
            return lambda conn: conn.execute(sql, params).fetchall()

        last = 0
        while True:
            rows = await self._store.call(fetch((last, *filters, page_size)))
            for row in rows:
                yield projection_from_row(row)
            if len(rows) < page_size:
                return
            last = int(rows[-1][0])

    async def count_by_kind(self, binding: str | None = None) -> dict[str, int]:
        """Live (non-tombstoned) objects per ``"<interface>/<Kind>"``."""

        def work(conn: Conn) -> dict[str, int]:
            sql = "SELECT interface, kind, COUNT(*) FROM projections WHERE tombstoned = 0"
            params: tuple[str, ...] = ()
            if binding is not None:
                sql += " AND binding = ?"
                params = (binding,)
            rows = conn.execute(sql + " GROUP BY interface, kind ORDER BY interface, kind", params)
            return {f"{i}/{k}": int(n) for i, k, n in rows}

        return await self._store.call(work)

    async def purge_tombstones(self, before: datetime) -> int:
        """Forget tombstones older than ``before``; returns how many.

        Only safe once no delivery older than ``before`` can still arrive: a
        forgotten tombstone no longer blocks a stale re-create.
        """
        cutoff = ts(before)

        def work(conn: Conn) -> int:
            return conn.execute(
                "DELETE FROM projections WHERE tombstoned = 1 AND tombstoned_at < ?", (cutoff,)
            ).rowcount

        return await self._store.transaction(work)
