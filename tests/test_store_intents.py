"""Write intents, conflicts and audit in the SQLite store: CAS, enforced phases, redaction."""

from __future__ import annotations

import asyncio

import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, NotFound
from kradle_providers.models.base import ExternalRef, Interface
from kradle_providers.store import DuplicateRecord, PhaseMismatch, SqliteStateStore
from kradle_providers.sync.phases import ConflictPhase, InvalidTransition, WriteIntentPhase
from kradle_providers.sync.records import (
    AuditEvent,
    AuditOutcome,
    Conflict,
    ConflictReason,
    FieldConflict,
    Resolution,
    WriteIntent,
)
from tests.test_store_support import BINDING, T0, ManualClock, issue_key

W = WriteIntentPhase
CANARY = "audit-canary-7d1e0c55b2"


def intent(key: str = "idem-1", binding: str = BINDING) -> WriteIntent:
    return WriteIntent.new(
        binding=binding,
        interface=Interface.ISSUE_TRACKING,
        operation="createComment",
        target=ExternalRef(owner="acme", repository="widgets"),
        object_id="7",
        payload={"body": {"markdown": "hi"}},
        idempotency_key=key,
        actor="agent:triage",
        at=T0,
    )


def conflict(intent_id: str | None = None) -> Conflict:
    return Conflict.new(
        binding=BINDING,
        key=issue_key("7"),
        reason=ConflictReason.UNCONFIRMED_WRITE,
        fields=[FieldConflict(field="body", base=None, local="hi", external=None)],
        intent_id=intent_id,
        at=T0,
    )


async def test_intent_create_get_find_and_idempotency_key() -> None:
    async with SqliteStateStore() as store:
        a = await store.intents.create(intent("k1"))
        b = await store.intents.create(intent("k2", binding="other"))
        assert await store.intents.get(a.id) == a
        assert await store.intents.find_by_idempotency_key("k2") == b
        assert await store.intents.find_by_idempotency_key("nope") is None
        with pytest.raises(DuplicateRecord, match="find_by_idempotency_key"):
            await store.intents.create(intent("k1"))
        with pytest.raises(NotFound):
            await store.intents.get("missing")
        assert [i.id for i in await store.intents.find()] == [a.id, b.id]
        assert await store.intents.find(binding="other") == [b]
        assert await store.intents.find(phase=W.READY_TO_SEND) == []
        assert len(await store.intents.find(limit=1)) == 1


async def test_intent_lifecycle_through_the_store() -> None:
    clock = ManualClock()
    async with SqliteStateStore(clock=clock) as store:
        w = await store.intents.create(intent())
        with pytest.raises(InvalidTransition, match="explicit"):
            await store.intents.advance(w.id, W.READY_TO_SEND)
        approved = w.approve("bob", at=T0)
        await store.intents.save(approved, expected_phase=W.PENDING_APPROVAL)
        clock.advance(seconds=5)
        sending = await store.intents.advance(
            w.id, W.SENDING, expected_phase=W.READY_TO_SEND, request_digest="req"
        )
        assert sending.attempts == 1 and sending.updated_at == clock.now
        done = await store.intents.advance(w.id, W.SUCCEEDED, response_digest="resp")
        assert (await store.intents.get(w.id)) == done
        assert [h.phase for h in done.history] == [
            W.PENDING_APPROVAL,
            W.READY_TO_SEND,
            W.SENDING,
            W.SUCCEEDED,
        ]
        assert await store.intents.find(phase=W.SUCCEEDED) == [done]
        with pytest.raises(InvalidTransition):
            await store.intents.advance(w.id, W.SENDING)


async def test_two_workers_cannot_both_send_the_same_intent() -> None:
    async with SqliteStateStore() as store:
        w = await store.intents.create(intent())
        await store.intents.save(w.approve("bob"), expected_phase=W.PENDING_APPROVAL)
        results = await asyncio.gather(
            *(
                store.intents.advance(w.id, W.SENDING, expected_phase=W.READY_TO_SEND)
                for _ in range(5)
            ),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, WriteIntent)]
        losers = [r for r in results if isinstance(r, PhaseMismatch)]
        assert len(winners) == 1 and len(losers) == 4
        assert "another worker" in str(losers[0])
        assert (await store.intents.get(w.id)).attempts == 1


async def test_save_is_compare_and_set_and_checks_the_move() -> None:
    async with SqliteStateStore() as store:
        w = await store.intents.create(intent())
        stale_copy = w.approve("bob")
        await store.intents.save(stale_copy, expected_phase=W.PENDING_APPROVAL)
        with pytest.raises(PhaseMismatch):
            await store.intents.save(w.reject("carol"), expected_phase=W.PENDING_APPROVAL)
        # A record jumping phases without recording the step is refused ...
        forged = stale_copy.model_copy(update={"phase": W.AWAITING_CONFIRMATION})
        with pytest.raises(InvalidInput, match="history ends at ReadyToSend"):
            await store.intents.save(forged, expected_phase=W.READY_TO_SEND)
        # ... and so is a recorded step the phase table forbids.
        entry = stale_copy.history[-1].model_copy(update={"phase": W.AWAITING_CONFIRMATION})
        illegal = forged.model_copy(update={"history": (*stale_copy.history, entry)})
        with pytest.raises(InvalidTransition):
            await store.intents.save(illegal, expected_phase=W.READY_TO_SEND)
        rewritten = stale_copy.model_copy(update={"history": stale_copy.history[1:]})
        with pytest.raises(InvalidInput, match="append-only"):
            await store.intents.save(rewritten, expected_phase=W.READY_TO_SEND)
        renamed = stale_copy.model_copy(update={"idempotency_key": "other"})
        with pytest.raises(InvalidInput, match="never change"):
            await store.intents.save(renamed, expected_phase=W.READY_TO_SEND)
        with pytest.raises(NotFound):
            await store.intents.save(intent("new"), expected_phase=W.PENDING_APPROVAL)


async def test_intent_conflict_link_must_exist_and_conflicts_cycle() -> None:
    async with SqliteStateStore() as store:
        w = await store.intents.create(intent())
        await store.intents.save(w.approve("bob"), expected_phase=W.PENDING_APPROVAL)
        await store.intents.advance(w.id, W.SENDING)
        with pytest.raises(InvalidInput, match="create the conflict first"):
            await store.intents.advance(w.id, W.CONFLICT, conflict_id="ghost")
        assert (await store.intents.get(w.id)).phase is W.SENDING  # rolled back

        c = await store.conflicts.create(conflict(w.id))
        with pytest.raises(DuplicateRecord):
            await store.conflicts.create(c)
        linked = await store.intents.advance(w.id, W.CONFLICT, conflict_id=c.id)
        assert linked.conflict_id == c.id
        assert await store.conflicts.get(c.id) == c
        assert await store.conflicts.find(phase=ConflictPhase.OPEN) == [c]

        resolved = c.resolve(Resolution.PREFER_LOCAL, by="alice")
        await store.conflicts.save(resolved, expected_phase=ConflictPhase.OPEN)
        with pytest.raises(PhaseMismatch):
            await store.conflicts.save(resolved, expected_phase=ConflictPhase.OPEN)
        assert await store.conflicts.find(phase=ConflictPhase.OPEN) == []
        assert await store.conflicts.find(phase=ConflictPhase.RESOLVED, binding=BINDING) == [
            resolved
        ]
        forged = resolved.model_copy(update={"phase": ConflictPhase.OPEN})
        with pytest.raises(InvalidInput):
            await store.conflicts.save(forged, expected_phase=ConflictPhase.RESOLVED)
        with pytest.raises(NotFound):
            await store.conflicts.get("missing")


async def test_audit_ids_are_monotonic_and_details_redacted() -> None:
    async with SqliteStateStore() as store:
        events = [
            AuditEvent(actor="alice", action="updateIssue", binding=BINDING, at=T0),
            AuditEvent(actor="bob", action="createComment", binding="other", at=T0),
            AuditEvent(actor="alice", action="closeIssue", binding=BINDING, at=T0),
        ]
        stored = [await store.audit.append(e) for e in events]
        ids = [e.id for e in stored]
        assert ids == sorted(ids) and len(set(ids)) == 3 and ids[0] is not None
        assert await store.audit.count() == 3
        assert await store.audit.count(binding=BINDING) == 2
        mine = await store.audit.find(binding=BINDING)
        assert [e.action for e in mine] == ["updateIssue", "closeIssue"]
        after = await store.audit.find(after_id=ids[0])
        assert [e.id for e in after] == ids[1:]
        assert await store.audit.find(after_id=ids[0], limit=1) == [stored[1]]


async def test_audit_canary_secret_never_reaches_the_database() -> None:
    # The secret becomes known only after the event was built: storage re-redacts.
    event = AuditEvent(
        actor="agent",
        action="updateIssue",
        outcome=AuditOutcome.FAILED,
        target="acme/widgets",
        details={"response": f"401: bad credential {CANARY}", "nested": [{"x": CANARY}]},
    )
    Secret(CANARY)
    async with SqliteStateStore() as store:
        saved = await store.audit.append(event)
        raw = await store.call(lambda c: [r[0] for r in c.execute("SELECT record FROM audit")])
    assert CANARY not in "".join(raw)
    assert CANARY not in saved.model_dump_json()
    assert saved.details["response"] == "401: bad credential ***"
