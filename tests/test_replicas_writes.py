"""Write sending shared by two senders on one PostgreSQL store: each write sent once.

Two :class:`WriteIntentService` instances, each with its own store connection
pool (as two replicas have), claim intents through the store's send claims;
a sender that died mid-send leaves a claim that expires and the other sender
finishes the write with the same idempotency key.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

from kradle_providers.models import IssueCreate
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.store.postgres import PostgresStateStore
from kradle_providers.sync.intents import WriteIntentService
from kradle_providers.sync.phases import WriteIntentPhase as W
from kradle_providers.sync.policy import WritePolicy
from tests.postgres_support import DSN, pg_schema
from tests.test_sync_intents_support import BINDING, IT, Env, ManualClock, make_env

__all__ = ["pg_schema"]

INTENTS = 24


async def _two_senders(
    schema: str,
) -> tuple[Env, list[PostgresStateStore], list[WriteIntentService]]:
    env = await make_env()
    clock = env.clock
    stores = [PostgresStateStore(DSN, schema=schema, clock=clock, max_size=3) for _ in range(2)]
    for store in stores:
        await store.open()
    services = [
        WriteIntentService(store, [env.channel], clock=clock, worker=f"replica-{n}")
        for n, store in enumerate(stores)
    ]
    return env, stores, services


async def _close(env: Env, stores: list[PostgresStateStore]) -> None:
    for store in stores:
        await store.aclose()
    await env.aclose()


async def test_two_senders_on_one_postgres_send_every_write_exactly_once(pg_schema: str) -> None:
    env, stores, (a, b) = await _two_senders(pg_schema)
    try:
        ids = [
            (await a.propose(BINDING, IT, "createIssue", None, {"title": f"t{n}"}, "u")).id
            for n in range(INTENTS)
        ]
        sent: list[str] = []
        for _ in range(6):  # both senders race over the same queue, small batches each
            rounds = await asyncio.gather(a.send_ready(limit=3), b.send_ready(limit=3))
            sent += [i.id for batch in rounds for i in batch]
        assert sorted(sent) == sorted(ids)  # every intent sent, none by both
        keys = [w["idempotency_key"] for w in env.writes("createIssue")]
        assert len(keys) == len(set(keys)) == INTENTS
        for intent_id in ids:
            assert (await b.store.intents.get(intent_id)).phase is W.AWAITING_CONFIRMATION
        assert await a.send_ready() == [] and await b.send_ready() == []
    finally:
        await _close(env, stores)


async def test_a_crashed_senders_claim_expires_and_the_other_finishes_the_write_once(
    pg_schema: str,
) -> None:
    env, stores, (a, b) = await _two_senders(pg_schema)
    clock: ManualClock = env.clock
    try:
        intent = await a.propose(BINDING, IT, "createIssue", None, {"title": "crash"}, "u")
        # Sender a claims it, sends, and dies before recording the answer.
        [claimed] = await a.store.intents.claim(a.worker, lease=a.policy.sending_lease)
        sending = claimed.advance(W.SENDING, at=clock.now)
        await a.store.intents.save(sending, expected_phase=W.READY_TO_SEND)
        await env.adapter.create_issue(
            env.harness.scope, IssueCreate(title="crash"), idempotency_key=intent.idempotency_key
        )
        assert await b.send_ready() == []  # a's claim still holds
        clock.advance(seconds=a.policy.sending_lease.total_seconds() + 1)
        [done] = await b.send_ready()
        assert done.id == intent.id and done.phase is W.AWAITING_CONFIRMATION
        assert len(env.issues_titled("crash")) == 1  # same key: the retry did not duplicate
        history = [h.note for h in done.history]
        assert "sending lease expired" in history
    finally:
        await _close(env, stores)


class _SlowAdapter:
    """The memory adapter whose issue creation takes ``delay`` seconds (a slow provider)."""

    def __init__(self, inner: Any, delay: float) -> None:
        self._inner, self._delay = inner, delay
        self.started = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_issue(self, *args: Any, **kwargs: Any) -> Any:
        self.started.set()
        await asyncio.sleep(self._delay)
        return await self._inner.create_issue(*args, **kwargs)


async def test_a_slow_send_keeps_its_claim_alive_so_no_other_sender_repeats_it(
    pg_schema: str,
) -> None:
    env = await make_env()
    policy = WritePolicy(sending_lease=timedelta(seconds=1))
    slow = _SlowAdapter(env.adapter, delay=2.5)
    channel = replace(env.channel, adapter=cast(ProviderAdapter, slow))
    stores = [PostgresStateStore(DSN, schema=pg_schema, max_size=3) for _ in range(2)]
    try:
        for store in stores:
            await store.open()
        a, b = (
            WriteIntentService(store, [channel], policy=policy, worker=f"replica-{n}")
            for n, store in enumerate(stores)
        )
        intent = await a.propose(BINDING, IT, "createIssue", None, {"title": "slow"}, "u")
        first = asyncio.create_task(a.send_ready())
        await slow.started.wait()  # a claimed it and its request is running
        others: list[str] = []
        while not first.done():  # b keeps polling past a's lease while a's request runs
            others += [i.id for i in await b.send_ready()]
            await asyncio.sleep(0.05)
        [sent] = first.result()
        assert sent.id == intent.id and sent.phase is W.AWAITING_CONFIRMATION
        assert others == []
        assert len(env.writes("createIssue")) == 1
    finally:
        await _close(env, stores)
