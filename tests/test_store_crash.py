"""Crash safety: a page and its checkpoint are applied together or not at all."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kradle_providers.models.base import Interface
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.records import ProjectionSource, SyncState
from tests.test_store_support import BINDING, issue, issue_key

REPO = Path(__file__).resolve().parents[1]


def state(**kw: Any) -> SyncState:
    return SyncState(binding=BINDING, interface=Interface.ISSUE_TRACKING, kind="Issue", **kw)


async def test_failure_mid_transaction_applies_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    async with SqliteStateStore() as store:
        first = state(cursor="1")
        await store.apply_page_and_checkpoint(BINDING, [issue("1"), issue("2")], first)

        def crash(conn: sqlite3.Connection, row: tuple[Any, ...]) -> None:
            raise RuntimeError("simulated crash between page apply and checkpoint")

        monkeypatch.setattr(store, "_write_state", crash)
        page = [issue("1", minutes=5, title="changed"), issue("3")]
        with pytest.raises(RuntimeError, match="simulated crash"):
            await store.apply_page_and_checkpoint(BINDING, page, state(cursor="2"))
        monkeypatch.undo()

        assert await store.projections.count_by_kind() == {"issueTracking/Issue": 2}
        one = await store.projections.get(BINDING, issue_key("1"))
        assert one is not None and one.canonical() == issue("1")
        got = await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue")
        assert got == first
        # The store is still usable and the retried page applies in full.
        await store.apply_page_and_checkpoint(BINDING, page, state(cursor="2"))
        assert await store.projections.count_by_kind() == {"issueTracking/Issue": 3}


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from kradle_providers.models.base import (
        Extensions, ExternalEnvelope, Interface, ProviderRef, Version)
    from kradle_providers.models.issues import Issue
    from kradle_providers.store import SqliteStateStore
    from kradle_providers.sync.records import SyncState

    PAGE = 25

    def make(n):
        return Issue(
            external=ExternalEnvelope(
                provider=ProviderRef(type="acme"), interface=Interface.ISSUE_TRACKING,
                native_kind="issue", native_id=str(n),
                version=Version(updated_at=datetime(2024, 1, 1, tzinfo=UTC)),
                extensions=Extensions(provider_type="acme")),
            title=f"issue {n}")

    async def main(path):
        async with SqliteStateStore(path) as store:
            st = await store.sync_states.get("b", Interface.ISSUE_TRACKING, "Issue")
            if st is None:
                st = SyncState(binding="b", interface=Interface.ISSUE_TRACKING, kind="Issue")
            page_no = int(st.cursor or 0)
            while True:  # until killed
                objs = [make(page_no * PAGE + i) for i in range(PAGE)]
                page_no += 1
                st = st.model_copy(update={
                    "cursor": str(page_no), "counters": st.counters.plus(applied=PAGE, pages=1)})
                await store.apply_page_and_checkpoint("b", objs, st)
                print(page_no, flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


async def _check_consistent(path: Path) -> int:
    async with SqliteStateStore(path) as store:
        ok = await store.call(lambda c: c.execute("PRAGMA integrity_check").fetchone()[0])
        assert ok == "ok"
        st = await store.sync_states.get("b", Interface.ISSUE_TRACKING, "Issue")
        assert st is not None
        counts = await store.projections.count_by_kind()
        applied = counts.get("issueTracking/Issue", 0)
        assert applied == st.counters.applied == 25 * int(st.cursor or 0)
        assert st.counters.pages == int(st.cursor or 0)
        return applied


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_backfill_loop_leaves_consistent_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    totals = []
    # Two rounds: the second resumes from the first's checkpoint, then dies too.
    for pages_before_kill in (15, 10):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert proc.stdout is not None
        first = None
        # One line per committed page; kill while the worker keeps going.
        for seen, line in enumerate(proc.stdout, start=1):
            first = first or int(line)
            if seen >= pages_before_kill:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
        totals.append(asyncio.run(_check_consistent(path)))
        assert first is not None and first * 25 > (totals[-2] if len(totals) > 1 else 0)
    assert totals[1] > totals[0] >= 15 * 25


async def test_apply_source_is_recorded() -> None:
    async with SqliteStateStore() as store:
        await store.apply_page_and_checkpoint(
            BINDING, [issue("1")], state(), source=ProjectionSource.WRITE
        )
        proj = await store.projections.get(BINDING, issue_key("1"))
        assert proj is not None and proj.source is ProjectionSource.WRITE


async def test_postgres_failure_mid_transaction_applies_nothing(
    pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kradle_providers.store.postgres import PostgresStateStore
    from tests.postgres_support import DSN

    async with PostgresStateStore(DSN, schema=pg_schema) as store:
        first = state(cursor="1")
        await store.apply_page_and_checkpoint(BINDING, [issue("1"), issue("2")], first)

        async def crash(conn: object, row: tuple[Any, ...]) -> None:
            raise RuntimeError("simulated crash between page apply and checkpoint")

        monkeypatch.setattr(store, "_write_state", crash)
        page = [issue("1", minutes=5, title="changed"), issue("3")]
        with pytest.raises(RuntimeError, match="simulated crash"):
            await store.apply_page_and_checkpoint(BINDING, page, state(cursor="2"))
        monkeypatch.undo()
        assert await store.projections.count_by_kind() == {"issueTracking/Issue": 2}
        got = await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue")
        assert got == first
        await store.apply_page_and_checkpoint(BINDING, page, state(cursor="2"))
        assert await store.projections.count_by_kind() == {"issueTracking/Issue": 3}
