"""SQLite state store: lifecycle, migrations, deliveries, dedupe, sync states."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from kradle_providers.models.base import Interface
from kradle_providers.store import (
    SCHEMA_VERSION,
    SchemaTooNew,
    SqliteStateStore,
    StoreClosed,
)
from kradle_providers.store.migrations import MIGRATIONS, migrate, schema_version
from kradle_providers.sync.records import ProjectionSource, SyncState
from kradle_providers.webhooks.deliveries import DeliveryRecord
from tests.test_store_support import BINDING, T0, issue


def delivery(delivery_id: str = "d1", *, minutes: int = 0) -> DeliveryRecord:
    return DeliveryRecord.received(
        provider="acme",
        instance="default",
        event="issues",
        delivery_id=delivery_id,
        body=b'{"action":"opened"}',
        headers={"X-Acme-Event": "issues", "Authorization": "Bearer abcdefgh"},
        at=T0 + timedelta(minutes=minutes),
    )


# ----------------------------------------------------------------- lifecycle


async def test_file_store_uses_wal_foreign_keys_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteStateStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        mode = await store.call(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
        fks = await store.call(lambda c: c.execute("PRAGMA foreign_keys").fetchone()[0])
        assert (mode, fks) == ("wal", 1)
        await store.projections.apply_object(BINDING, issue("1"), source=ProjectionSource.BACKFILL)
    async with SqliteStateStore(path) as again:
        assert await again.projections.count_by_kind() == {"issueTracking/Issue": 1}


async def test_open_is_idempotent_and_closed_store_refuses_calls() -> None:
    store = SqliteStateStore()
    with pytest.raises(StoreClosed, match="async with store"):
        await store.sync_states.find()
    await store.open()
    await store.open()
    assert "open" in repr(store)
    await store.aclose()
    await store.aclose()
    with pytest.raises(StoreClosed):
        await store.audit.count()


# ----------------------------------------------------------------- migrations


def test_migrations_are_numbered_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2


async def test_v1_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == [1]
    assert schema_version(conn) == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "write_intents" not in tables
    state = SyncState(
        binding=BINDING, interface=Interface.ISSUE_TRACKING, kind="Issue", cursor="c7"
    )
    conn.execute(
        "INSERT INTO sync_states VALUES (?, ?, ?, ?, ?, ?, ?)",
        (*state.key(), state.phase.value, "2024", state.model_dump_json()),
    )
    conn.close()
    async with SqliteStateStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        got = await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue")
        assert got is not None and got.cursor == "c7"
        assert await store.intents.find() == []  # tables of migration 2 exist


async def test_newer_database_is_refused_with_upgrade_advice(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    store = SqliteStateStore(path)
    with pytest.raises(SchemaTooNew, match="Upgrade kradle-providers") as info:
        await store.open()
    assert info.value.found == SCHEMA_VERSION + 1
    with pytest.raises(StoreClosed):
        await store.audit.count()


def test_failing_migration_leaves_previous_version(tmp_path: Path) -> None:
    from kradle_providers.store.migrations import Migration

    broken = (*MIGRATIONS[:1], Migration(2, "broken", ("CREATE TABLE x (a)", "NOT SQL")))
    conn = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, migrations=broken)
    assert schema_version(conn) == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "x" not in tables


# ----------------------------------------------------------------- deliveries


# ----------------------------------------------------------------- dedupe


def test_dedupe_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SqliteStateStore(dedupe_ttl=timedelta(0))


# ----------------------------------------------------------------- sync states
