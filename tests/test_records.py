"""Sync records: JSON round trips, enforced phases, invariants, redaction."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import ExternalRef, Interface
from kradle_providers.sync.phases import (
    BackfillPhase,
    ConflictPhase,
    InvalidTransition,
    WriteIntentPhase,
)
from kradle_providers.sync.records import (
    AuditEvent,
    Confirmation,
    Conflict,
    ConflictReason,
    FieldConflict,
    ObjectKey,
    Projection,
    ProjectionSource,
    Resolution,
    SyncCounters,
    SyncState,
    WriteIntent,
    redact_json,
)
from tests.test_store_support import BINDING, T0, issue, issue_key

CANARY = "canary-secret-value-8f3a91"


def intent(**kw: object) -> WriteIntent:
    args: dict[str, object] = {
        "binding": BINDING,
        "interface": Interface.ISSUE_TRACKING,
        "operation": "updateIssue",
        "target": ExternalRef(owner="acme", repository="widgets"),
        "object_id": "7",
        "payload": {"title": "New title"},
        "idempotency_key": "idem-1",
        "actor": "alice",
        "at": T0,
    }
    args.update(kw)
    return WriteIntent.new(**args)  # type: ignore[arg-type]


def roundtrip(record: object) -> object:
    cls = type(record)
    text = record.model_dump_json()  # type: ignore[attr-defined]
    json.loads(text)  # plain JSON
    return cls.model_validate_json(text)  # type: ignore[attr-defined]


def test_sync_state_round_trips_and_keys_by_scope_slug() -> None:
    state = SyncState(
        binding=BINDING,
        interface=Interface.ISSUE_TRACKING,
        kind="Issue",
        scope=ExternalRef(owner="acme", repository="widgets"),  # type: ignore[arg-type]
        cursor="opaque==",
        checkpoint={"page": 3, "since": "2024-01-01"},
        high_water_mark=T0,
        counters=SyncCounters(listed=10, applied=9),
        updated_at=T0,
    )
    assert state.scope == "acme/widgets"
    assert state.key() == (BINDING, "issueTracking", "Issue", "acme/widgets")
    assert roundtrip(state) == state


def test_sync_state_phase_is_enforced_and_error_redacted() -> None:
    Secret(CANARY)
    state = SyncState(binding=BINDING, interface=Interface.CICD, kind="Pipeline")
    listing = state.advance(BackfillPhase.LISTING, at=T0)
    failed = listing.advance(BackfillPhase.FAILED, error=f"401 with token {CANARY}")
    assert failed.error is not None and CANARY not in failed.error and "***" in failed.error
    with pytest.raises(InvalidTransition, match="Scheduled"):
        state.advance(BackfillPhase.SUCCEEDED)
    assert (
        CANARY
        not in SyncState(
            binding="b", interface=Interface.CICD, kind="Job", error=CANARY
        ).model_dump_json()
    )


def test_counters_plus_adds_and_rejects_unknown_names() -> None:
    c = SyncCounters().plus(applied=3, listed=4).plus(applied=1)
    assert (c.applied, c.listed) == (4, 4)
    with pytest.raises(InvalidInput, match="unknown counter"):
        c.plus(aplied=1)


def test_object_key_comes_from_envelope_and_canonical_kind() -> None:
    key = ObjectKey.of(issue("42"))
    assert key.as_tuple() == ("acme", "default", "issueTracking", "Issue", "42")
    assert key.kind_path() == "issueTracking/Issue"
    assert key == issue_key("42")


def test_projection_round_trips_and_loads_its_canonical_object() -> None:
    obj = issue("5", title="Crash", minutes=3)
    proj = Projection(
        key=ObjectKey.of(obj),
        binding=BINDING,
        native_kind="issue",
        object=obj.model_dump(mode="json"),
        version=obj.external.version,
        first_seen_at=T0,
        updated_at=T0,
        source=ProjectionSource.WEBHOOK,
        last_delivery_id="d-1",
    )
    again = roundtrip(proj)
    assert again == proj
    assert proj.canonical() == obj
    assert proj.version_key == obj.external.version.sort_key()
    ghost = proj.model_copy(update={"object": None, "tombstoned": True})
    with pytest.raises(InvalidInput, match="deleted before it was ever seen"):
        ghost.canonical()


def test_write_intent_round_trips_with_history() -> None:
    w = intent()
    assert w.phase is WriteIntentPhase.PENDING_APPROVAL
    assert [h.phase for h in w.history] == [WriteIntentPhase.PENDING_APPROVAL]
    approved = w.approve("bob", at=T0)
    sending = approved.advance(WriteIntentPhase.SENDING, request_digest="req")
    done = sending.advance(WriteIntentPhase.SUCCEEDED, response_digest="resp")
    assert done.attempts == 1
    assert done.approval is not None and done.approval.by == "bob"
    assert [h.phase for h in done.history] == [
        WriteIntentPhase.PENDING_APPROVAL,
        WriteIntentPhase.READY_TO_SEND,
        WriteIntentPhase.SENDING,
        WriteIntentPhase.SUCCEEDED,
    ]
    assert roundtrip(done) == done


def test_pending_approval_cannot_be_sent_or_approved_implicitly() -> None:
    w = intent()
    with pytest.raises(InvalidTransition):
        w.advance(WriteIntentPhase.SENDING)
    with pytest.raises(InvalidTransition, match="explicit"):
        w.advance(WriteIntentPhase.READY_TO_SEND)
    rejected = w.reject("bob", reason="not now")
    assert rejected.phase is WriteIntentPhase.REJECTED
    assert rejected.rejection is not None and rejected.rejection.note == "not now"


def test_write_intent_invariants_succeeded_and_conflict() -> None:
    sending = intent().approve("bob").advance(WriteIntentPhase.SENDING)
    with pytest.raises(InvalidInput, match="response digest or a confirmation"):
        sending.advance(WriteIntentPhase.SUCCEEDED)
    confirmed = sending.advance(
        WriteIntentPhase.SUCCEEDED, confirmation=Confirmation(delivery_id="d-9", at=T0)
    )
    assert confirmed.confirmation is not None
    with pytest.raises(InvalidInput, match="link its conflict"):
        sending.advance(WriteIntentPhase.CONFLICT)
    assert sending.advance(WriteIntentPhase.CONFLICT, conflict_id="c1").conflict_id == "c1"


def test_write_intent_operation_must_be_a_write_of_its_interface() -> None:
    with pytest.raises(ValidationError, match="unknown operation"):
        intent(operation="updateIsue")
    with pytest.raises(ValidationError, match="does not write"):
        intent(operation="listIssues")
    with pytest.raises(InvalidInput, match="gitForge operation"):
        intent(operation="mergePullRequest")


def test_write_intent_redacts_payload_and_error() -> None:
    Secret(CANARY)
    w = intent(payload={"body": f"see {CANARY}", "token": "abc"}, last_error=f"bad {CANARY}")
    text = w.model_dump_json()
    assert CANARY not in text
    assert w.payload["token"] == "***"


def test_conflict_resolution_paths() -> None:
    c = Conflict.new(
        binding=BINDING,
        key=issue_key("7"),
        reason=ConflictReason.BOTH_CHANGED,
        fields=[FieldConflict(field="title", base="a", local="b", external="c")],
        at=T0,
    )
    assert c.kind == "Issue"
    assert roundtrip(c) == c
    with pytest.raises(InvalidInput, match="merged field values"):
        c.resolve(Resolution.MANUAL_MERGE, by="alice")
    merged = c.resolve(Resolution.MANUAL_MERGE, by="alice", values={"title": "b+c"})
    assert merged.phase is ConflictPhase.RESOLVED
    assert [h.phase for h in merged.history] == [
        ConflictPhase.OPEN,
        ConflictPhase.RESOLVING,
        ConflictPhase.RESOLVED,
    ]
    assert merged.resolved_values == {"title": "b+c"} and merged.resolved_by == "alice"
    ignored = c.resolve(Resolution.IGNORE_WITH_WARNING, by="bob")
    assert ignored.phase is ConflictPhase.IGNORED
    with pytest.raises(InvalidTransition):
        merged.advance(ConflictPhase.OPEN)
    with pytest.raises(ValidationError):
        Conflict.new(binding=BINDING, key=issue_key(), reason="made_up")


def test_audit_event_redacts_canary_everywhere() -> None:
    Secret(CANARY)
    event = AuditEvent(
        actor="alice",
        action="updateIssue",
        target=f"acme/widgets?token={CANARY}",
        details={
            "headers": {"Authorization": "Bearer xyz", "X-Note": f"echo {CANARY}"},
            "list": [CANARY, 1, None],
            CANARY: "key itself",
        },
    )
    text = event.model_dump_json()
    assert CANARY not in text
    assert event.details["headers"] == {"Authorization": "***", "X-Note": "echo ***"}
    assert roundtrip(event) == event


def test_redact_json_keeps_structure_and_non_strings() -> None:
    data = {"a": [1, 2.5, True, None, {"password": None, "pw_hint": "x"}]}
    assert redact_json(data) == data
