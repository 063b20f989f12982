"""Numbered schema migrations of the SQLite state store.

Each migration is a list of SQL statements applied in one transaction together
with ``PRAGMA user_version = <number>``, so a crash mid-migration leaves the
database at the previous version, never half-migrated. Migrations are only ever
appended: a released migration is never edited (a database in the field has
already run it); a change is a new number.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from kradle_providers.store.errors import SchemaTooNew

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "schema_version"]


class Migration(NamedTuple):
    """One schema step: its number (1, 2, …), a short name, its statements."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "deliveries, dedupe, sync states, projections",
        (
            """CREATE TABLE deliveries (
                id TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                instance TEXT NOT NULL,
                delivery_id TEXT NOT NULL,
                phase TEXT NOT NULL,
                received_at TEXT NOT NULL,
                record TEXT NOT NULL,
                body BLOB
            )""",
            "CREATE INDEX deliveries_by_phase ON deliveries (phase, received_at)",
            "CREATE INDEX deliveries_by_delivery_id ON deliveries (provider, delivery_id)",
            """CREATE TABLE dedupe (
                key TEXT PRIMARY KEY,
                expires_at REAL NOT NULL
            )""",
            "CREATE INDEX dedupe_by_expiry ON dedupe (expires_at)",
            """CREATE TABLE sync_states (
                binding TEXT NOT NULL,
                interface TEXT NOT NULL,
                kind TEXT NOT NULL,
                scope TEXT NOT NULL,
                phase TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                record TEXT NOT NULL,
                PRIMARY KEY (binding, interface, kind, scope)
            )""",
            """CREATE TABLE projections (
                pk INTEGER PRIMARY KEY,
                binding TEXT NOT NULL,
                provider_type TEXT NOT NULL,
                instance TEXT NOT NULL,
                interface TEXT NOT NULL,
                kind TEXT NOT NULL,
                native_id TEXT NOT NULL,
                native_kind TEXT,
                object TEXT,
                version TEXT NOT NULL,
                version_key TEXT NOT NULL,
                content_digest TEXT,
                tombstoned INTEGER NOT NULL DEFAULT 0,
                tombstoned_at TEXT,
                first_seen_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                source TEXT NOT NULL,
                last_delivery_id TEXT,
                UNIQUE (binding, provider_type, instance, interface, kind, native_id)
            )""",
            "CREATE INDEX projections_by_kind ON projections (interface, kind, tombstoned)",
        ),
    ),
    Migration(
        2,
        "write intents, conflicts, audit",
        (
            """CREATE TABLE conflicts (
                id TEXT PRIMARY KEY,
                binding TEXT NOT NULL,
                phase TEXT NOT NULL,
                intent_id TEXT,
                created_at TEXT NOT NULL,
                record TEXT NOT NULL
            )""",
            "CREATE INDEX conflicts_by_phase ON conflicts (phase, created_at)",
            """CREATE TABLE write_intents (
                id TEXT PRIMARY KEY,
                binding TEXT NOT NULL,
                phase TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                conflict_id TEXT REFERENCES conflicts (id),
                created_at TEXT NOT NULL,
                record TEXT NOT NULL
            )""",
            "CREATE INDEX write_intents_by_phase ON write_intents (phase, created_at)",
            "CREATE INDEX write_intents_by_binding ON write_intents (binding, created_at)",
            # AUTOINCREMENT: ids are never reused, so "after id N" is a stable cursor.
            """CREATE TABLE audit (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                binding TEXT,
                record TEXT NOT NULL
            )""",
            "CREATE INDEX audit_by_binding ON audit (binding, id)",
        ),
    ),
    Migration(
        3,
        "work claims with leases, stored retry times, named leases",
        (
            "ALTER TABLE deliveries ADD COLUMN claimed_by TEXT",
            "ALTER TABLE deliveries ADD COLUMN lease_until REAL",
            "ALTER TABLE deliveries ADD COLUMN next_attempt_at REAL",
            "ALTER TABLE write_intents ADD COLUMN claimed_by TEXT",
            "ALTER TABLE write_intents ADD COLUMN lease_until REAL",
            """CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at REAL NOT NULL
            )""",
        ),
    ),
    Migration(
        4,
        "shared rate-limit budgets",
        (
            """CREATE TABLE budgets (
                key TEXT PRIMARY KEY,
                state TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        5,
        "conditional-request validators kept across processes",
        (
            """CREATE TABLE validators (
                credential TEXT NOT NULL,
                method TEXT NOT NULL,
                url TEXT NOT NULL,
                accept TEXT NOT NULL,
                etag TEXT,
                last_modified TEXT,
                status INTEGER NOT NULL,
                headers TEXT NOT NULL,
                content BLOB NOT NULL,
                stored_at REAL,
                PRIMARY KEY (credential, method, url, accept)
            )""",
        ),
    ),
)
"""Every migration, in order; ``MIGRATIONS[n - 1].version == n``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version (``PRAGMA user_version``; 0 for a new file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(
    conn: sqlite3.Connection,
    *,
    path: str = "<sqlite>",
    migrations: Sequence[Migration] = MIGRATIONS,
    target: int | None = None,
) -> list[int]:
    """Apply every migration newer than the database, each in its own transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the
    numbers applied. ``target`` stops early (tests build old databases with it).
    Raises :class:`SchemaTooNew` for a database newer than ``migrations``.
    """
    known = len(migrations)
    goal = known if target is None else target
    applied: list[int] = []
    # BEGIN IMMEDIATE takes the write lock first, so two processes opening the
    # same new file cannot both run migration 1.
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)
            if current > known:
                raise SchemaTooNew(path, current, known)
            if current >= goal:
                conn.execute("COMMIT")
                return applied
            step = migrations[current]
            if step.version != current + 1:
                raise RuntimeError(f"migration list out of order at {step.version}")
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(step.version)
