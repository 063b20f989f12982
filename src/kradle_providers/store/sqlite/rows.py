"""Row-level helpers shared by the SQLite repositories: timestamps, transactions, filters."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from kradle_providers.errors import InvalidInput, NotFound
from kradle_providers.sync.phases import transition
from kradle_providers.sync.records import (
    Conflict,
    WriteIntent,
)

__all__ = [
    "Conn",
    "T",
    "check_history",
    "dump",
    "fetch_record",
    "find_records",
    "integrity_error",
    "ts",
    "utcnow",
]


T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Conn = sqlite3.Connection


def utcnow() -> datetime:
    return datetime.now(UTC)


def ts(value: datetime) -> str:
    """Fixed-width UTC text, so that SQL orders timestamps correctly."""
    v = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:"
        f"{v.second:02d}.{v.microsecond:06d}Z"
    )


def dump(model: BaseModel) -> str:
    return model.model_dump_json()


def fetch_record(conn: Conn, table: str, model: type[M], record_id: str, missing: str) -> M:
    """The record stored under ``record_id`` in ``table``; :class:`NotFound` saying ``missing``."""
    row = conn.execute(
        f"SELECT record FROM {table} WHERE id = ?",  # noqa: S608 - table names are ours
        (record_id,),
    ).fetchone()
    if row is None:
        raise NotFound(missing)
    return model.model_validate_json(row[0])


def find_records(
    conn: Conn,
    table: str,
    model: type[M],
    phase: Any,
    binding: str | None,
    limit: int | None,
) -> list[M]:
    """Records of ``table`` (in a phase, of a binding), oldest first."""
    sql, params = _filtered(table, phase, binding, limit)
    return [model.model_validate_json(r[0]) for r in conn.execute(sql, params)]


def _filtered(
    table: str, phase: Any, binding: str | None, limit: int | None
) -> tuple[str, tuple[Any, ...]]:
    where: list[str] = []
    params: list[Any] = []
    if phase is not None:
        where.append("phase = ?")
        params.append(phase.value)
    if binding is not None:
        where.append("binding = ?")
        params.append(binding)
    sql = f"SELECT record FROM {table}"  # noqa: S608 - table names are ours
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at, rowid"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return sql, tuple(params)


def integrity_error(what: str, exc: sqlite3.IntegrityError) -> InvalidInput:
    text = str(exc)
    if "FOREIGN KEY" in text:
        return InvalidInput(
            f"the {what} links a conflict that does not exist; create the conflict first",
            field="conflict_id",
        )
    return InvalidInput(f"the {what} violates a store constraint: {text}")


def check_history(what: str, stored: WriteIntent | Conflict, new: WriteIntent | Conflict) -> None:
    """The new record must extend the stored history with legal moves only.

    A record may take several steps in memory before it is saved (a conflict
    resolved from Open passes through Resolving), so every appended history
    entry is checked in turn; the record's own ``advance`` enforced explicitness.
    """
    old: tuple[Any, ...] = stored.history
    steps: tuple[Any, ...] = new.history
    if steps[: len(old)] != old:
        raise InvalidInput(
            f"the {what}'s history differs from the stored one; a record's history is "
            "append-only: re-read it and apply the change with advance()",
            field="history",
        )
    phase: Any = stored.phase
    for entry in steps[len(old) :]:
        phase = transition(phase, entry.phase, explicit=True)
    if phase is not new.phase:
        raise InvalidInput(
            f"the {what} is in phase {new.phase.value} but its history ends at "
            f"{phase.value}; change phases with advance(), which records each step",
            field="phase",
        )
