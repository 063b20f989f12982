"""Write intents end to end over the memory provider: approval, sending, retries, confirmation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kradle_providers.errors import (
    InvalidInput,
    PermissionDenied,
    RateLimited,
    TransientProviderError,
    UnsupportedOperation,
)
from kradle_providers.models.events import ChangeAction, SyncEvent
from kradle_providers.models.issues import Issue, IssueCreate
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.sync.phases import InvalidTransition, WriteIntentPhase
from kradle_providers.sync.policy import WritePolicy
from kradle_providers.sync.records import AuditOutcome, ConflictReason
from kradle_providers.testing.harness import Fault
from tests.test_sync_intents_support import BINDING, IT, make_env, memory_manifest

W = WriteIntentPhase


async def test_reviewed_write_waits_for_approval_and_never_calls_the_provider() -> None:
    env = await make_env(BindingMode.REVIEWED_WRITE)
    try:
        before = len(env.harness.state.requests)
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "Reviewed"}, "agent:triage"
        )
        assert intent.phase is W.PENDING_APPROVAL
        assert intent.idempotency_key.startswith("kradle-")
        assert await env.service.send_ready() == []
        assert await env.service.confirm_by_read_back() == []
        assert len(env.harness.state.requests) == before  # not even a read
        with pytest.raises(InvalidTransition):
            await env.service.retry(intent.id, "user:ops")

        approved = await env.service.approve(intent.id, "user:lead")
        assert approved.phase is W.READY_TO_SEND
        assert approved.approval is not None and approved.approval.by == "user:lead"
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION
        assert sent.response_digest and sent.request_digest
        assert sent.object_key is not None and sent.object_key.kind == "Issue"
        [call] = env.writes("createIssue")
        assert call["idempotency_key"] == intent.idempotency_key
        [done] = await env.service.confirm_by_read_back()
        assert done.phase is W.SUCCEEDED
        assert done.confirmation is not None and done.confirmation.readback_digest
        actions = [(e.action, e.outcome) for e in await env.store.audit.find()]
        assert actions == [
            ("write.propose", AuditOutcome.PENDING),
            ("write.approve", AuditOutcome.SUCCEEDED),
            ("write.send", AuditOutcome.SUCCEEDED),
            ("write.confirm", AuditOutcome.SUCCEEDED),
        ]
    finally:
        await env.aclose()


async def test_rejected_pending_write_is_never_sent() -> None:
    env = await make_env(BindingMode.REVIEWED_WRITE)
    try:
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "No"}, "agent:x"
        )
        rejected = await env.service.reject(intent.id, "user:lead", reason="not now")
        assert rejected.phase is W.REJECTED and rejected.rejection is not None
        assert await env.service.send_ready() == []
        assert env.writes() == []
        with pytest.raises(InvalidTransition):
            await env.service.approve(intent.id, "user:lead")
    finally:
        await env.aclose()


async def test_writing_modes_send_without_approval() -> None:
    for mode in (BindingMode.BIDIRECTIONAL, BindingMode.WRITE_THROUGH, BindingMode.KRADLE_OWNED):
        env = await make_env(mode)
        try:
            intent = await env.service.propose(
                BINDING, IT, "createIssue", None, {"title": f"t-{mode}"}, "user:a"
            )
            assert intent.phase is W.READY_TO_SEND
            [sent] = await env.service.send_ready()
            assert sent.phase is W.AWAITING_CONFIRMATION
            assert len(env.issues_titled(f"t-{mode}")) == 1
        finally:
            await env.aclose()


@pytest.mark.parametrize("mode", [BindingMode.READ_ONLY, BindingMode.EXTERNAL_OWNED])
async def test_ownership_forbids_writes_on_read_only_bindings(mode: BindingMode) -> None:
    env = await make_env(mode)
    try:
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "x"}, "user:a"
        )
        assert intent.phase is W.REJECTED
        assert intent.rejection is not None and "ownership forbids" in (intent.rejection.note or "")
        assert await env.service.send_ready() == []
        assert env.writes() == []
        [event] = await env.store.audit.find()
        assert event.outcome is AuditOutcome.DENIED
    finally:
        await env.aclose()


async def test_mode_changed_to_read_only_before_sending_becomes_an_ownership_conflict() -> None:
    env = await make_env(BindingMode.REVIEWED_WRITE)
    try:
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "x"}, "user:a"
        )
        await env.service.approve(intent.id, "user:lead")
        env.service.channel = lambda b, i: _with_mode(env.channel, BindingMode.READ_ONLY)
        [moved] = await env.service.send_ready()
        assert moved.phase is W.CONFLICT and moved.conflict_id
        conflict = await env.store.conflicts.get(moved.conflict_id)
        assert conflict.reason is ConflictReason.OWNERSHIP_FORBIDS
        assert conflict.intent_id == intent.id
        assert env.writes() == []
    finally:
        await env.aclose()


def _with_mode(channel: Any, mode: BindingMode) -> Any:
    from dataclasses import replace

    return replace(channel, mode=mode)


async def test_unsupported_and_invalid_writes_are_refused_before_any_call() -> None:
    manifest = memory_manifest(createComment="comments are read-only on this instance")
    env = await make_env(manifest=manifest)
    try:
        with pytest.raises(UnsupportedOperation, match="read-only on this instance"):
            await env.service.propose(
                BINDING, IT, "createComment", None, {"body": "hi"}, "u", object_id="1"
            )
        with pytest.raises(UnsupportedOperation, match="only canonical write"):
            await env.service.propose(BINDING, IT, "listIssues", None, {}, "u")
        with pytest.raises(UnsupportedOperation, match="belongs to cicd"):
            await env.service.propose(BINDING, IT, "rerunPipeline", None, {}, "u", object_id="1")
        with pytest.raises(InvalidInput, match="does not take"):
            await env.service.propose(BINDING, IT, "createIssue", None, {"titel": "x"}, "u")
        with pytest.raises(InvalidInput, match="object_id"):
            await env.service.propose(BINDING, IT, "updateIssue", None, {"title": "x"}, "u")
        with pytest.raises(InvalidInput, match="actor"):
            await env.service.propose(BINDING, IT, "createIssue", None, {"title": "x"}, " ")
        assert await env.store.intents.find() == []
        assert env.harness.state.requests == []
        denied = await env.store.audit.find()
        assert len(denied) == 6 and {e.outcome for e in denied} == {AuditOutcome.DENIED}
    finally:
        await env.aclose()


async def test_host_permission_comes_from_the_manifest_and_is_enforced() -> None:
    asked: list[tuple[str, str]] = []

    async def authorize(actor: str, permission: str) -> bool:
        asked.append((actor, permission))
        return actor == "user:writer"

    env = await make_env(authorize=authorize)
    try:
        with pytest.raises(PermissionDenied, match=r"issueTracking\.issues\.write"):
            await env.service.propose(BINDING, IT, "createIssue", None, {"title": "x"}, "user:r")
        assert await env.store.intents.find() == []
        ok = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "x"}, "user:writer"
        )
        assert ok.phase is W.READY_TO_SEND
        assert ("user:r", "issueTracking.issues.write") in asked
        with pytest.raises(PermissionDenied):
            await env.service.reject(ok.id, "user:r", reason="no")
    finally:
        await env.aclose()


async def test_same_idempotency_key_returns_the_same_intent() -> None:
    env = await make_env()
    try:
        a = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "once"}, "u", idempotency_key="req-1"
        )
        b = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "once"}, "u", idempotency_key="req-1"
        )
        assert a.id == b.id and a.idempotency_key == "req-1"
        with pytest.raises(InvalidInput, match="idempotency key"):
            await env.service.propose(
                BINDING, IT, "closeIssue", None, {}, "u", idempotency_key="req-1", object_id="1"
            )
        assert len(await env.store.intents.find()) == 1
    finally:
        await env.aclose()


async def test_a_reopen_is_queued_sent_and_confirmed_by_its_fixed_state() -> None:
    env = await make_env()
    try:
        created = await env.adapter.create_issue(env.harness.scope, IssueCreate(title="Reopen me"))
        number = created.external.native_number or ""
        await env.adapter.close_issue(env.harness.scope, number)
        intent = await env.service.propose(
            BINDING, IT, "reopenIssue", None, {}, "u", object_id=number
        )
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION
        assert env.writes("reopenIssue")
        [done] = await env.service.confirm_by_read_back()
        assert done.id == intent.id and done.phase is W.SUCCEEDED
        issue = await env.adapter.get_issue(env.harness.scope, number)
        assert issue.status.state == "open"
    finally:
        await env.aclose()


async def test_transient_error_retries_with_backoff_and_the_same_key() -> None:
    policy = WritePolicy()
    env = await make_env(policy=policy)
    try:
        env.harness.state.fail_next("createIssue", TransientProviderError("HTTP 502", status=502))
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "retry"}, "u"
        )
        [retrying] = await env.service.send_ready()
        assert retrying.phase is W.RETRYING and retrying.attempts == 1
        assert retrying.next_attempt_at == env.clock.now + policy.backoff(1)
        assert await env.service.send_ready() == []  # not due yet: no call
        assert len(env.writes()) == 1
        env.clock.advance(seconds=policy.backoff(1).total_seconds())
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION and sent.attempts == 2
        keys = {w["idempotency_key"] for w in env.writes()}
        assert keys == {intent.idempotency_key}
        sends = [e for e in await env.store.audit.find() if e.action == "write.send"]
        assert [e.outcome for e in sends] == [AuditOutcome.FAILED, AuditOutcome.SUCCEEDED]
        assert all(e.request_digest for e in sends)
    finally:
        await env.aclose()


async def test_rate_limit_waits_at_least_retry_after_and_gives_up_after_max_attempts() -> None:
    env = await make_env(policy=WritePolicy(max_attempts=2))
    try:
        env.harness.state.rate_limit_next("createIssue", retry_after=600, times=5)
        await env.service.propose(BINDING, IT, "createIssue", None, {"title": "rl"}, "u")
        [first] = await env.service.send_ready()
        assert first.phase is W.RETRYING
        assert first.next_attempt_at is not None
        assert (first.next_attempt_at - env.clock.now).total_seconds() == 600
        env.clock.advance(seconds=599)
        assert await env.service.send_ready() == []
        env.clock.advance(seconds=1)
        [failed] = await env.service.send_ready()
        assert failed.phase is W.FAILED and "rate limit" in (failed.last_error or "")
        again = await env.service.retry(failed.id, "user:ops")
        assert again.phase is W.READY_TO_SEND
    finally:
        await env.aclose()


async def test_lost_response_retry_does_not_duplicate_the_write() -> None:
    env = await make_env()
    try:
        env.harness.backend.inject_fault(Fault.LOST_RESPONSE)
        intent = await env.service.propose(BINDING, IT, "createIssue", None, {"title": "lost"}, "u")
        [lost] = await env.service.send_ready()
        assert lost.phase is W.RETRYING
        assert len(env.issues_titled("lost")) == 1  # processed although the answer was lost
        env.clock.advance(hours=1)
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION
        assert len(env.issues_titled("lost")) == 1
        assert [w["idempotency_key"] for w in env.writes()] == [intent.idempotency_key] * 2
    finally:
        await env.aclose()


async def test_other_errors_fail_the_intent() -> None:
    env = await make_env()
    try:
        env.harness.state.fail_next("createIssue", PermissionDenied("no scope", provider="memory"))
        await env.service.propose(BINDING, IT, "createIssue", None, {"title": "f"}, "u")
        [failed] = await env.service.send_ready()
        assert failed.phase is W.FAILED and "no scope" in (failed.last_error or "")
    finally:
        await env.aclose()


async def test_precondition_failed_becomes_a_linked_conflict() -> None:
    env = await make_env()
    try:
        [number] = env.harness.backend.seed("Issue", title="Old")
        env.harness.backend.change("Issue", number, title="Changed elsewhere")
        intent = await env.service.propose(
            BINDING,
            IT,
            "updateIssue",
            None,
            {"title": "Mine"},
            "u",
            object_id=number,
            expected_version="1",
        )
        [moved] = await env.service.send_ready()
        assert moved.phase is W.CONFLICT and moved.conflict_id
        conflict = await env.store.conflicts.get(moved.conflict_id)
        assert conflict.reason is ConflictReason.PRECONDITION_FAILED
        assert conflict.intent_id == intent.id
        assert conflict.external_version is not None
        [field] = conflict.fields
        assert (field.field, field.local, field.external) == (
            "title",
            "Mine",
            "Changed elsewhere",
        )
    finally:
        await env.aclose()


async def test_two_workers_never_send_the_same_intent() -> None:
    env = await make_env()
    try:
        for n in range(6):
            await env.service.propose(BINDING, IT, "createIssue", None, {"title": f"c{n}"}, "u")
        other = env.worker()
        a, b = await asyncio.gather(env.service.send_ready(), other.send_ready())
        assert len(a) + len(b) == 6
        assert {i.id for i in a}.isdisjoint({i.id for i in b})
        keys = [w["idempotency_key"] for w in env.writes("createIssue")]
        assert len(keys) == len(set(keys)) == 6
    finally:
        await env.aclose()


async def test_paused_binding_holds_sends_but_keeps_intents() -> None:
    env = await make_env()
    try:
        env.paused = True
        intent = await env.service.propose(BINDING, IT, "createIssue", None, {"title": "p"}, "u")
        assert await env.service.send_ready() == []
        assert env.writes() == []
        assert (await env.store.intents.get(intent.id)).phase is W.READY_TO_SEND
        env.paused = False
        [sent] = await env.service.send_ready()
        assert sent.id == intent.id and sent.phase is W.AWAITING_CONFIRMATION
    finally:
        await env.aclose()


async def test_abandoned_send_is_retried_after_the_lease_with_the_same_key() -> None:
    env = await make_env()
    try:
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "crash"}, "u"
        )
        # A worker claimed it and died before calling the provider.
        lease = env.service.policy.sending_lease
        [claimed] = await env.store.intents.claim("dead-worker", lease=lease)
        stuck = claimed.advance(W.SENDING, at=env.clock.now)
        await env.store.intents.save(stuck, expected_phase=W.READY_TO_SEND)
        assert await env.service.send_ready() == []  # its claim still holds
        env.clock.advance(minutes=6)
        [sent] = await env.service.send_ready()
        assert sent.id == intent.id and sent.phase is W.AWAITING_CONFIRMATION
        assert len(env.issues_titled("crash")) == 1
    finally:
        await env.aclose()


def _event_for(issue: Issue, *, delivery: str = "d-1") -> SyncEvent:
    return SyncEvent(
        provider=issue.external.provider,
        interface=IT,
        object_kind="Issue",
        action=ChangeAction.UPDATED,
        native_event="issue",
        native_action="updated",
        native_id=issue.external.native_id,
        delivery_id=delivery,
        version=issue.external.version,
        object=issue,
    )


async def test_webhook_confirms_a_write_only_when_it_shows_the_written_values() -> None:
    env = await make_env()
    try:
        [number] = env.harness.backend.seed("Issue", title="Before")
        before = await env.adapter.get_issue(env.harness.scope, number)
        await env.service.propose(
            BINDING, IT, "updateIssue", None, {"title": "After"}, "u", object_id=number
        )
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION
        assert await env.service.confirm_from_event(_event_for(before, delivery="old")) == []
        after = await env.adapter.get_issue(env.harness.scope, number)
        [done] = await env.service.confirm_from_event(_event_for(after, delivery="d-9"))
        assert done.phase is W.SUCCEEDED
        assert done.confirmation is not None and done.confirmation.delivery_id == "d-9"
        assert await env.service.confirm_from_event(_event_for(after)) == []  # once only
    finally:
        await env.aclose()


async def test_unconfirmed_write_times_out_into_a_conflict() -> None:
    policy = WritePolicy(confirmation_timeout=WritePolicy().confirmation_timeout)
    env = await make_env(policy=policy)
    try:
        [number] = env.harness.backend.seed("Issue", title="T")
        await env.service.propose(
            BINDING, IT, "updateIssue", None, {"title": "Mine"}, "u", object_id=number
        )
        [sent] = await env.service.send_ready()
        # Someone overwrites it at once: read-back never shows our value.
        env.harness.backend.change("Issue", number, title="Theirs")
        assert await env.service.confirm_by_read_back() == []
        assert (await env.store.intents.get(sent.id)).phase is W.AWAITING_CONFIRMATION
        env.clock.advance(seconds=policy.confirmation_timeout.total_seconds())
        assert await env.service.confirm_by_read_back() == []
        moved = await env.store.intents.get(sent.id)
        assert moved.phase is W.CONFLICT and moved.conflict_id
        conflict = await env.store.conflicts.get(moved.conflict_id)
        assert conflict.reason is ConflictReason.UNCONFIRMED_WRITE
        assert [f.field for f in conflict.fields] == ["title"]
    finally:
        await env.aclose()


async def test_declarative_sync_succeeds_on_its_plan() -> None:
    env = await make_env()
    try:
        await env.service.propose(
            BINDING,
            IT,
            "syncLabels",
            None,
            {"desired": [{"name": "bug", "color": "ff0000"}], "prune": False},
            "u",
        )
        [done] = await env.service.send_ready()
        assert done.phase is W.SUCCEEDED and done.response_digest
    finally:
        await env.aclose()


async def test_unknown_rate_limit_type_is_retried() -> None:
    # RateLimited without retry_after falls back to the policy's backoff.
    env = await make_env()
    try:
        env.harness.state.fail_next("createIssue", RateLimited("slow down", provider="memory"))
        await env.service.propose(BINDING, IT, "createIssue", None, {"title": "r"}, "u")
        [retrying] = await env.service.send_ready()
        assert retrying.phase is W.RETRYING
        assert retrying.next_attempt_at == env.clock.now + env.service.policy.backoff(1)
    finally:
        await env.aclose()
