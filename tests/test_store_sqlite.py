"""SQLite state store: lifecycle, migrations, deliveries, dedupe, sync states."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from kradle_providers.errors import NotFound
from kradle_providers.models.base import Interface
from kradle_providers.store import (
    SCHEMA_VERSION,
    DuplicateRecord,
    SchemaTooNew,
    SqliteStateStore,
    StateStore,
    StoreClosed,
)
from kradle_providers.store.migrations import MIGRATIONS, migrate, schema_version
from kradle_providers.store.protocol import DeliveryRepository, ExpiringDedupeStore
from kradle_providers.sync.phases import BackfillPhase, DeliveryPhase, InvalidTransition
from kradle_providers.sync.records import ProjectionSource, SyncState
from kradle_providers.webhooks.dedupe import DedupeStore
from kradle_providers.webhooks.deliveries import DeliveryRecord, DeliveryStore
from tests.test_store_support import BINDING, T0, ManualClock, issue, issue_key


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


async def test_store_satisfies_the_protocols() -> None:
    async with SqliteStateStore() as store:
        assert isinstance(store, StateStore)
        assert isinstance(store.deliveries, DeliveryStore)
        assert isinstance(store.deliveries, DeliveryRepository)
        assert isinstance(store.dedupe, DedupeStore)
        assert isinstance(store.dedupe, ExpiringDedupeStore)


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


async def test_deliveries_store_body_enforce_phases_and_count() -> None:
    async with SqliteStateStore(clock=ManualClock()) as store:
        first, second = delivery("d1", minutes=1), delivery("d2", minutes=0)
        await store.deliveries.add(first, b"raw-1")
        await store.deliveries.add(second)
        with pytest.raises(DuplicateRecord):
            await store.deliveries.add(first)
        assert await store.deliveries.get(first.id) == first
        assert await store.deliveries.get_body(first.id) == b"raw-1"
        assert await store.deliveries.get_body(second.id) is None
        with pytest.raises(NotFound):
            await store.deliveries.get("missing")

        received = await store.deliveries.list_by_phase(DeliveryPhase.RECEIVED)
        assert [r.id for r in received] == [second.id, first.id]  # oldest first

        queued = await store.deliveries.update_phase(first.id, DeliveryPhase.QUEUED)
        assert queued.phase is DeliveryPhase.QUEUED
        with pytest.raises(InvalidTransition):
            await store.deliveries.update_phase(first.id, DeliveryPhase.SUCCEEDED)
        await store.deliveries.update_phase(second.id, DeliveryPhase.SIGNATURE_REJECTED)
        with pytest.raises(InvalidTransition):  # a rejected delivery is never processed
            await store.deliveries.update_phase(second.id, DeliveryPhase.QUEUED)

        counts = await store.deliveries.count_by_phase()
        assert counts == {DeliveryPhase.QUEUED: 1, DeliveryPhase.SIGNATURE_REJECTED: 1}
        stored = await store.deliveries.get(first.id)
        assert [h.phase for h in stored.history] == [DeliveryPhase.RECEIVED, DeliveryPhase.QUEUED]
        assert "authorization" not in stored.headers
        assert [r.id for r in await store.deliveries.find_by_delivery_id("acme", "d1")] == [
            first.id
        ]


async def test_dead_letter_replay_needs_explicit_action() -> None:
    async with SqliteStateStore() as store:
        rec = delivery()
        await store.deliveries.add(rec, b"{}")
        for phase in (DeliveryPhase.QUEUED, DeliveryPhase.NORMALIZING, DeliveryPhase.DEAD_LETTERED):
            await store.deliveries.update_phase(rec.id, phase, error="boom")
        with pytest.raises(InvalidTransition, match="explicit"):
            await store.deliveries.update_phase(rec.id, DeliveryPhase.QUEUED)
        replayed = await store.deliveries.update_phase(rec.id, DeliveryPhase.QUEUED, explicit=True)
        assert replayed.attempts == 1 and replayed.error == "boom"


# ----------------------------------------------------------------- dedupe


async def test_dedupe_check_and_mark_with_ttl_and_forget() -> None:
    clock = ManualClock()
    async with SqliteStateStore(clock=clock, dedupe_ttl=timedelta(hours=1)) as store:
        assert await store.dedupe.seen_before("k") is False
        assert await store.dedupe.seen_before("k") is True
        await store.dedupe.forget("k")
        assert await store.dedupe.seen_before("k") is False
        clock.advance(minutes=59)
        assert await store.dedupe.seen_before("k") is True
        clock.advance(minutes=2)
        assert await store.dedupe.seen_before("k") is False  # expired, marked afresh
        assert await store.dedupe.seen_before("other") is False
        clock.advance(hours=2)
        assert await store.dedupe.purge_expired() == 2


async def test_dedupe_is_atomic_across_concurrent_tasks() -> None:
    async with SqliteStateStore() as store:
        results = await asyncio.gather(*(store.dedupe.seen_before("same") for _ in range(20)))
        assert sorted(results) == [False] + [True] * 19


def test_dedupe_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SqliteStateStore(dedupe_ttl=timedelta(0))


# ----------------------------------------------------------------- sync states


async def test_sync_states_get_put_find() -> None:
    async with SqliteStateStore() as store:
        assert await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue") is None
        a = SyncState(binding=BINDING, interface=Interface.ISSUE_TRACKING, kind="Issue", scope="a")
        b = SyncState(binding="other", interface=Interface.CICD, kind="Pipeline")
        await store.sync_states.put(a)
        await store.sync_states.put(b)
        listing = a.advance(BackfillPhase.LISTING, at=T0).model_copy(update={"cursor": "n2"})
        await store.sync_states.put(listing)
        got = await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue", "a")
        assert got == listing
        assert await store.sync_states.find(binding=BINDING) == [listing]
        assert len(await store.sync_states.find()) == 2


async def test_projection_key_lookup_uses_binding() -> None:
    async with SqliteStateStore() as store:
        await store.projections.apply_object("b1", issue("1"), source=ProjectionSource.WEBHOOK)
        assert await store.projections.get("b2", issue_key("1")) is None
        assert await store.projections.get("b1", issue_key("1")) is not None
