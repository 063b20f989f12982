"""Helpers shared by the PostgreSQL repositories of phase-tracked records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from kradle_providers.errors import NotFound

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn

__all__ = ["fetch_record", "find_query"]

M = TypeVar("M", bound=BaseModel)


async def fetch_record(
    conn: Conn, table: str, model: type[M], record_id: str, missing: str, *, lock: bool = False
) -> M:
    """The record stored under ``record_id`` (locked for update with ``lock``)."""
    query = f"SELECT record FROM {table} WHERE id = %s"  # noqa: S608 - table names are ours
    if lock:
        query += " FOR UPDATE"
    cur = await conn.execute(query.encode(), (record_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(missing)
    return model.model_validate_json(row[0])


def find_query(
    table: str, phase: Any, binding: str | None, limit: int | None
) -> tuple[str, tuple[Any, ...]]:
    """The query listing ``table``'s records (in a phase, of a binding), oldest first."""
    where: list[str] = []
    params: list[Any] = []
    if phase is not None:
        where.append("phase = %s")
        params.append(phase.value)
    if binding is not None:
        where.append("binding = %s")
        params.append(binding)
    query = f"SELECT record FROM {table}"  # noqa: S608 - table names are ours
    if where:
        query += " WHERE " + " AND ".join(where)
    query += " ORDER BY created_at, seq"
    if limit is not None:
        query += " LIMIT %s"
        params.append(int(limit))
    return query, tuple(params)
