"""Store transactions per webhook delivery: group commit, its isolation, and backpressure.

The SQLite store commits the calls queued together in one transaction (a failing
one rolls back alone); its counters say how many transactions a run took, which is
what issue 16 bounds per delivery.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.models.events import SyncEvent
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.webhooks.receiver import WebhookEndpoint, WebhookReceiver
from kradle_providers.webhooks.registry import NormalizerRegistry
from tests.postgres_support import DSN, pg_schema
from tests.test_webhook_receiver import SECRET, Host, body, gh, normalizer

__all__ = ["pg_schema"]


def receiver(store: SqliteStateStore, handle: Any, **kw: Any) -> WebhookReceiver:
    reg = NormalizerRegistry()
    reg.register("github", "issues", normalizer)
    return WebhookReceiver(
        [WebhookEndpoint("github", secret=Secret(SECRET))],
        handle=handle,
        registry=reg,
        store=store.deliveries,
        dedupe=store.dedupe,
        poll_interval=0.05,
        **kw,
    )


def client(r: WebhookReceiver) -> httpx.AsyncClient:
    # The receiver itself (its raw-ASGI intake), as `sync serve` mounts it.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=r), base_url="http://hooks")


async def test_a_failing_call_rolls_back_alone_in_its_group(tmp_path: Path) -> None:
    async with SqliteStateStore(tmp_path / "s.db") as store:
        gate = threading.Event()

        def hold(conn: sqlite3.Connection) -> None:
            gate.wait(5)  # keeps the store thread busy while the others queue up

        def mark(key: str, fail: bool = False) -> Any:
            def work(conn: sqlite3.Connection) -> str:
                conn.execute("INSERT INTO dedupe (key, expires_at) VALUES (?, 1e12)", (key,))
                if fail:
                    raise ValueError(f"{key} failed after writing")
                return key

            return work

        held = asyncio.ensure_future(store.call(hold))
        await asyncio.sleep(0.05)
        before = store.counters.transactions
        calls = [
            asyncio.ensure_future(store.transaction(mark("a"))),
            asyncio.ensure_future(store.transaction(mark("b", fail=True))),
            asyncio.ensure_future(store.call(mark("c"))),
        ]
        await asyncio.sleep(0.05)
        gate.set()
        await held
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert results[0] == "a" and results[2] == "c"
        assert isinstance(results[1], ValueError)
        # One commit for the three calls queued together.
        assert store.counters.transactions - before == 1
        keys = await store.call(lambda conn: conn.execute("SELECT key FROM dedupe").fetchall())
        assert sorted(k for (k,) in keys) == ["a", "c"]


async def test_concurrent_deliveries_take_at_most_two_transactions_each(tmp_path: Path) -> None:
    async with SqliteStateStore(tmp_path / "s.db") as store:
        host = Host()
        r = receiver(store, host, workers=8)
        before = store.counters.transactions
        n = 40
        async with client(r) as c:
            answers = await asyncio.gather(
                *(
                    c.post("/github", content=body([i]), headers=gh(body([i]), delivery_id=f"d{i}"))
                    for i in range(n)
                )
            )
        assert [a.status_code for a in answers] == [202] * n
        await r.drain()
        await r.aclose()
        counts = await store.deliveries.count_by_phase()
        assert counts == {DeliveryPhase.SUCCEEDED: n}
        assert sorted(e.native_id for call in host.calls for e in call) == sorted(
            str(i) for i in range(n)
        )
        per_delivery = (store.counters.transactions - before) / n
        assert per_delivery <= 2, f"{per_delivery:.2f} transactions per delivery"


async def test_intake_waits_then_answers_503_while_processing_is_behind(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def slow(events: list[SyncEvent]) -> None:
        await release.wait()

    async with SqliteStateStore(tmp_path / "s.db") as store:
        r = receiver(store, slow, max_backlog=1)
        async with client(r) as c:
            first = await c.post("/github", content=body([1]), headers=gh(body([1])))
            assert first.status_code == 202
            busy = await c.post("/github", content=body([2]), headers=gh(body([2])))
            assert busy.status_code == 503
            assert busy.headers["retry-after"] == "1"
            assert "waiting to be processed" in busy.json()["reason"]
            release.set()
            await r.drain()
            again = await c.post("/github", content=body([3]), headers=gh(body([3])))
            assert again.status_code == 202
        await r.drain()
        await r.aclose()
        # The refused delivery was never recorded: the provider sends it again.
        assert await store.deliveries.count_by_phase() == {DeliveryPhase.SUCCEEDED: 2}


@pytest.mark.parametrize("path", ["/github", "/github/default"])
async def test_raw_intake_and_starlette_route_answer_alike(tmp_path: Path, path: str) -> None:
    async with SqliteStateStore(tmp_path / "s.db") as store:
        r = receiver(store, Host())
        data = body([7])
        async with (
            client(r) as raw,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=r.app), base_url="http://hooks"
            ) as routed,
        ):
            a = await raw.post(path, content=data, headers=gh(data, delivery_id="x1"))
            b = await routed.post(path, content=data, headers=gh(data, delivery_id="x2"))
            bad = await raw.post(path, content=data, headers=gh(data, secret="wrong-secret"))
            unknown = await raw.post("/gitlab", content=data, headers=gh(data))
        assert a.status_code == b.status_code == 202
        assert set(a.json()) == set(b.json()) == {"id", "delivery_id", "phase"}
        assert a.headers["content-type"] == b.headers["content-type"] == "application/json"
        assert bad.status_code == 401 and bad.json()["error"] == "signature_rejected"
        assert unknown.status_code == 404
        await r.drain()
        await r.aclose()


async def test_postgres_group_commit_rolls_back_only_the_failing_call(pg_schema: str) -> None:
    from kradle_providers.store.postgres import PostgresStateStore

    async with PostgresStateStore(DSN, schema=pg_schema) as store:

        def mark(key: str, fail: bool = False) -> Any:
            async def work(conn: Any) -> str:
                await conn.execute("INSERT INTO dedupe (key, expires_at) VALUES (%s, 1e12)", (key,))
                if fail:
                    raise ValueError(f"{key} failed after writing")
                return key

            return work

        before = store.counters.transactions
        # Made in one go: the first call's flusher finds all three pending.
        results = await asyncio.gather(
            store.transaction(mark("a")),
            store.transaction(mark("b", fail=True)),
            store.transaction(mark("c")),
            return_exceptions=True,
        )
        assert results[0] == "a" and results[2] == "c"
        assert isinstance(results[1], ValueError)
        assert store.counters.transactions - before == 1
        rows = await store.fetchall("SELECT key FROM dedupe ORDER BY key")
        assert [k for (k,) in rows] == ["a", "c"]


async def test_backlog_bound_follows_the_measured_pace(tmp_path: Path) -> None:
    async with SqliteStateStore(tmp_path / "s.db") as store:
        r = receiver(store, Host(), workers=2, max_backlog=256, backlog_seconds=0.5)
        assert r._backlog_limit() == 256  # nothing measured yet
        r._pace = 100.0  # finished per second
        assert r._backlog_limit() == 50
        r._pace = 1.0
        assert r._backlog_limit() == 8  # never below 4 per worker
        r._pace = 10_000.0
        assert r._backlog_limit() == 256  # max_backlog stays the cap
