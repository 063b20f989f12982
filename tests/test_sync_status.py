"""`sync status`: the direct SQLite reader reports exactly what the store API reports."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from kradle_providers.cli import main
from kradle_providers.models.base import Interface
from kradle_providers.store import SqliteStateStore
from kradle_providers.store.migrations import SCHEMA_VERSION
from kradle_providers.sync.lifecycle import PhaseTracker
from kradle_providers.sync.phases import BackfillPhase, BindingPhase, ProviderPhase
from kradle_providers.sync.records import ProjectionSource, SyncState
from kradle_providers.sync.status import read_sqlite_status, status_report
from kradle_providers.testing.store_objects import (
    BINDING,
    conflict,
    delivery,
    intent,
    issue,
    issue_key,
)

OTHER = "acme/gadgets"


async def fill(store: SqliteStateStore) -> None:
    """Every kind of record `sync status` reports, in two bindings."""
    for n in range(1, 5):
        await store.projections.apply_object(
            BINDING, issue(str(n)), source=ProjectionSource.BACKFILL
        )
    await store.projections.apply_object(OTHER, issue("9"), source=ProjectionSource.BACKFILL)
    await store.projections.tombstone(BINDING, issue_key("4"))
    for binding, phase in ((BINDING, BackfillPhase.SUCCEEDED), (OTHER, BackfillPhase.FAILED)):
        await store.sync_states.put(
            SyncState(
                binding=binding,
                interface=Interface.ISSUE_TRACKING,
                kind="Issue",
                phase=phase,
                checkpoint={"page": 3},
                error=None if phase is BackfillPhase.SUCCEEDED else "429 from the provider",
            )
        )
    await store.deliveries.add(delivery("d1"), b"{}")
    await store.deliveries.add(delivery("d2", minutes=1), b"{}")
    first = await store.intents.create(intent("k1"))
    await store.intents.create(intent("k2", binding=OTHER))
    await store.conflicts.create(conflict(first.id))
    provider = PhaseTracker(ProviderPhase, BINDING, "gh", store=store)
    await provider.move(ProviderPhase.AUTHENTICATING)
    await provider.move(ProviderPhase.FAILED, "401 bad credentials")
    await PhaseTracker(BindingPhase, OTHER, OTHER, store=store).move(BindingPhase.VALIDATING_TARGET)


@pytest.mark.parametrize("binding", [None, BINDING, OTHER])
async def test_the_direct_reader_reports_what_the_store_api_reports(
    tmp_path: Path, binding: str | None
) -> None:
    path = tmp_path / "state.db"
    async with SqliteStateStore(path) as store:
        await fill(store)
        expected = await status_report(store, binding=binding)
    assert expected["objects"] and expected["states"] and expected["phases"]
    assert read_sqlite_status(path, binding=binding) == expected


def test_a_file_of_another_schema_version_is_left_to_the_store_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"

    async def make() -> None:
        async with SqliteStateStore(path) as store:
            await fill(store)

    asyncio.run(make())
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    assert read_sqlite_status(path) is None
    # The store API refuses the newer file with the fix, and the command says so.
    assert main(["sync", "status", "--db", str(path)]) == 2
    assert "Upgrade kradle-providers" in capsys.readouterr().err
