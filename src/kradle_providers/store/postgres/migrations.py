"""Numbered schema migrations of the PostgreSQL state store.

Same rules as the SQLite ones (:mod:`kradle_providers.store.migrations`): only
appended, never edited; each applied in one transaction together with the new
version number (PostgreSQL DDL is transactional), under an advisory lock so
that replicas starting together migrate once.
"""

from __future__ import annotations

from kradle_providers.store.migrations import Migration

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA_VERSION"]


PG_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "deliveries, dedupe, sync states, projections, intents, conflicts, audit, leases",
        (
            """CREATE TABLE deliveries (
                id TEXT PRIMARY KEY,
                seq BIGINT GENERATED ALWAYS AS IDENTITY,
                provider TEXT NOT NULL,
                instance TEXT NOT NULL,
                delivery_id TEXT NOT NULL,
                phase TEXT NOT NULL,
                received_at TEXT NOT NULL,
                record TEXT NOT NULL,
                body BYTEA,
                claimed_by TEXT,
                lease_until DOUBLE PRECISION,
                next_attempt_at DOUBLE PRECISION
            )""",
            "CREATE INDEX deliveries_by_phase ON deliveries (phase, received_at, seq)",
            "CREATE INDEX deliveries_by_delivery_id ON deliveries (provider, delivery_id)",
            """CREATE TABLE dedupe (
                key TEXT PRIMARY KEY,
                expires_at DOUBLE PRECISION NOT NULL
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
                pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                binding TEXT NOT NULL,
                provider_type TEXT NOT NULL,
                instance TEXT NOT NULL,
                interface TEXT NOT NULL,
                kind TEXT NOT NULL,
                native_id TEXT NOT NULL,
                native_kind TEXT,
                object TEXT,
                version TEXT NOT NULL,
                version_key TEXT COLLATE "C" NOT NULL,
                content_digest TEXT COLLATE "C",
                tombstoned BOOLEAN NOT NULL DEFAULT FALSE,
                tombstoned_at TEXT COLLATE "C",
                first_seen_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                source TEXT NOT NULL,
                last_delivery_id TEXT,
                UNIQUE (binding, provider_type, instance, interface, kind, native_id)
            )""",
            "CREATE INDEX projections_by_kind ON projections (interface, kind, tombstoned)",
            """CREATE TABLE conflicts (
                id TEXT PRIMARY KEY,
                seq BIGINT GENERATED ALWAYS AS IDENTITY,
                binding TEXT NOT NULL,
                phase TEXT NOT NULL,
                intent_id TEXT,
                created_at TEXT COLLATE "C" NOT NULL,
                record TEXT NOT NULL
            )""",
            "CREATE INDEX conflicts_by_phase ON conflicts (phase, created_at)",
            """CREATE TABLE write_intents (
                id TEXT PRIMARY KEY,
                seq BIGINT GENERATED ALWAYS AS IDENTITY,
                binding TEXT NOT NULL,
                phase TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                conflict_id TEXT REFERENCES conflicts (id),
                created_at TEXT COLLATE "C" NOT NULL,
                record TEXT NOT NULL,
                claimed_by TEXT,
                lease_until DOUBLE PRECISION
            )""",
            "CREATE INDEX write_intents_by_phase ON write_intents (phase, created_at)",
            "CREATE INDEX write_intents_by_binding ON write_intents (binding, created_at)",
            """CREATE TABLE audit (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at TEXT NOT NULL,
                binding TEXT,
                record TEXT NOT NULL
            )""",
            "CREATE INDEX audit_by_binding ON audit (binding, id)",
            """CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "shared rate-limit budgets",
        (
            """CREATE TABLE budgets (
                key TEXT PRIMARY KEY,
                state TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        3,
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
                content BYTEA NOT NULL,
                stored_at DOUBLE PRECISION,
                PRIMARY KEY (credential, method, url, accept)
            )""",
        ),
    ),
)
"""Every PostgreSQL migration, in order."""

PG_SCHEMA_VERSION = len(PG_MIGRATIONS)
