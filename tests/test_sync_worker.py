"""The write worker (issue 13 item 3): approvals, sending, read-back, expiry, a stoppable loop."""

from __future__ import annotations

import asyncio

from kradle_providers.metrics import RecordingMetrics
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.sync.phases import WriteIntentPhase as W
from kradle_providers.sync.policy import WritePolicy
from kradle_providers.sync.records import ConflictReason
from kradle_providers.sync.worker import WriteWorker
from tests.test_sync_intents_support import BINDING, IT, make_env


async def test_worker_sends_only_approved_writes_and_confirms_by_read_back() -> None:
    env = await make_env(BindingMode.REVIEWED_WRITE)
    metrics = RecordingMetrics()
    worker = WriteWorker(env.service, binding=BINDING, metrics=metrics)
    try:
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "Worker"}, "agent:triage"
        )
        idle = await worker.tick()
        assert idle.moved == 0 and env.writes() == []  # pending approval: never sent
        await env.service.approve(intent.id, "user:lead")
        tick = await worker.tick(read_back=False)
        assert [i.phase for i in tick.sent] == [W.AWAITING_CONFIRMATION]
        assert len(env.writes("createIssue")) == 1
        tick = await worker.tick(read_back=True)
        assert [i.id for i in tick.confirmed] == [intent.id]
        assert (await env.store.intents.get(intent.id)).phase is W.SUCCEEDED
        assert metrics.total("kradle.sync.writes.sent", binding=BINDING) == 1
        assert metrics.total("kradle.sync.writes.confirmed") == 1
        assert len(metrics.durations("kradle.sync.writes.tick")) == 3
        assert len(env.writes("createIssue")) == 1  # never sent twice
    finally:
        await env.aclose()


async def test_worker_turns_unconfirmed_writes_into_conflicts() -> None:
    policy = WritePolicy()
    env = await make_env(policy=policy)
    worker = WriteWorker(env.service, read_back_interval=3600)
    try:
        [number] = env.harness.backend.seed("Issue", title="T")
        await env.service.propose(
            BINDING, IT, "updateIssue", None, {"title": "Mine"}, "u", object_id=number
        )
        [sent] = (await worker.tick(read_back=False)).sent
        env.harness.backend.change("Issue", number, title="Theirs")
        assert (await worker.tick(read_back=True)).moved == 0
        env.clock.advance(seconds=policy.confirmation_timeout.total_seconds())
        tick = await worker.tick(read_back=False)
        assert [i.id for i in tick.expired] == [sent.id]
        moved = await env.store.intents.get(sent.id)
        assert moved.phase is W.CONFLICT and moved.conflict_id
        conflict = await env.store.conflicts.get(moved.conflict_id)
        assert conflict.reason is ConflictReason.UNCONFIRMED_WRITE
    finally:
        await env.aclose()


async def test_run_loop_sends_while_running_and_stops_when_asked() -> None:
    env = await make_env()
    worker = WriteWorker(env.service, interval=0.01)
    try:
        task = asyncio.create_task(worker.run())
        intent = await env.service.propose(BINDING, IT, "createIssue", None, {"title": "L"}, "u")
        for _ in range(200):
            if (await env.store.intents.get(intent.id)).phase not in (W.READY_TO_SEND, W.SENDING):
                break
            await asyncio.sleep(0.01)
        assert (await env.store.intents.get(intent.id)).phase in (
            W.AWAITING_CONFIRMATION,
            W.SUCCEEDED,
        )
        worker.stop()
        await asyncio.wait_for(task, timeout=2)
        ticks = worker.ticks
        await asyncio.sleep(0.05)
        assert worker.ticks == ticks  # stopped
    finally:
        await env.aclose()
