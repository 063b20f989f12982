"""The SPEC §7 phase state machines: tables, enforcement, invariants."""

from __future__ import annotations

from collections import deque
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import KradleError
from kradle_providers.sync.phases import (
    EXPLICIT_TRANSITIONS,
    INITIAL_PHASES,
    TRANSITIONS,
    BackfillPhase,
    BindingPhase,
    ConflictPhase,
    DeliveryPhase,
    InvalidTransition,
    ProviderPhase,
    WriteIntentPhase,
    allowed_next,
    can_transition,
    is_terminal,
    transition,
)

SPEC_NAMES = {
    ProviderPhase: "Pending Authenticating Discovering Ready Degraded Paused Failed",
    BindingPhase: "Pending ValidatingTarget RegisteringWebhook Backfilling Ready Conflict "
    "Paused Failed",
    DeliveryPhase: "Received SignatureRejected Queued Normalizing Processing Succeeded "
    "Retrying DeadLettered",
    BackfillPhase: "Scheduled Listing Hydrating Applying Checkpointing Succeeded RateLimited "
    "Failed",
    WriteIntentPhase: "PendingApproval ReadyToSend Sending AwaitingConfirmation Succeeded "
    "Conflict Retrying Rejected Failed",
    ConflictPhase: "Open Resolving Resolved Ignored Superseded",
}


@pytest.mark.parametrize("family", list(SPEC_NAMES))
def test_values_are_the_spec_names_and_stable(family: type[StrEnum]) -> None:
    assert [p.value for p in family] == SPEC_NAMES[family].split()


@pytest.mark.parametrize("family", list(SPEC_NAMES))
def test_every_phase_has_a_row_and_targets_stay_in_family(family: type[StrEnum]) -> None:
    table = TRANSITIONS[family]
    assert set(table) == set(family)
    for nexts in table.values():
        assert all(type(n) is family for n in nexts)


@pytest.mark.parametrize("family", list(SPEC_NAMES))
def test_every_phase_reachable_from_initial(family: type[StrEnum]) -> None:
    start = INITIAL_PHASES[family]
    seen = {start}
    todo = deque([start])
    while todo:
        for n in allowed_next(todo.popleft(), explicit=True):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    assert seen == set(family)


def test_signature_rejected_is_terminal_and_never_processed() -> None:
    assert is_terminal(DeliveryPhase.SIGNATURE_REJECTED)
    for target in DeliveryPhase:
        with pytest.raises(InvalidTransition):
            transition(DeliveryPhase.SIGNATURE_REJECTED, target, explicit=True)


def test_processing_only_after_queue_and_normalizing() -> None:
    preds = {p for p in DeliveryPhase if DeliveryPhase.PROCESSING in allowed_next(p, explicit=True)}
    assert preds == {DeliveryPhase.NORMALIZING}
    preds = {
        p for p in DeliveryPhase if DeliveryPhase.NORMALIZING in allowed_next(p, explicit=True)
    }
    assert preds == {DeliveryPhase.QUEUED}


def test_dead_lettered_leaves_only_by_explicit_replay_or_skip() -> None:
    assert allowed_next(DeliveryPhase.DEAD_LETTERED) == frozenset()
    assert allowed_next(DeliveryPhase.DEAD_LETTERED, explicit=True) == {
        DeliveryPhase.QUEUED,
        DeliveryPhase.SUCCEEDED,
    }
    with pytest.raises(InvalidTransition, match="explicit operator action"):
        transition(DeliveryPhase.DEAD_LETTERED, DeliveryPhase.QUEUED)
    assert (
        transition(DeliveryPhase.DEAD_LETTERED, DeliveryPhase.QUEUED, explicit=True)
        is DeliveryPhase.QUEUED
    )


def test_pending_approval_never_sends() -> None:
    assert WriteIntentPhase.SENDING not in allowed_next(
        WriteIntentPhase.PENDING_APPROVAL, explicit=True
    )
    with pytest.raises(InvalidTransition):
        transition(WriteIntentPhase.PENDING_APPROVAL, WriteIntentPhase.SENDING)
    # Approval is an explicit act.
    with pytest.raises(InvalidTransition):
        transition(WriteIntentPhase.PENDING_APPROVAL, WriteIntentPhase.READY_TO_SEND)
    assert transition(
        WriteIntentPhase.PENDING_APPROVAL, WriteIntentPhase.READY_TO_SEND, explicit=True
    )


def test_paused_binding_blocks_backfill_but_resumes_to_ready() -> None:
    assert BindingPhase.BACKFILLING not in allowed_next(BindingPhase.PAUSED, explicit=True)
    assert transition(BindingPhase.PAUSED, BindingPhase.READY) is BindingPhase.READY
    assert transition(ProviderPhase.PAUSED, ProviderPhase.READY) is ProviderPhase.READY


def test_write_intent_unconfirmed_becomes_conflict_and_terminals() -> None:
    assert can_transition(WriteIntentPhase.AWAITING_CONFIRMATION, WriteIntentPhase.CONFLICT)
    for p in (WriteIntentPhase.SUCCEEDED, WriteIntentPhase.REJECTED):
        assert is_terminal(p)
    for c in (ConflictPhase.RESOLVED, ConflictPhase.IGNORED, ConflictPhase.SUPERSEDED):
        assert is_terminal(c)
    assert is_terminal(BackfillPhase.SUCCEEDED)


def test_message_names_allowed_next_phases() -> None:
    with pytest.raises(InvalidTransition) as info:
        transition(DeliveryPhase.QUEUED, DeliveryPhase.SUCCEEDED)
    msg = str(info.value)
    assert "Queued" in msg and "Succeeded" in msg and "Allowed next phases" in msg
    assert "Normalizing" in msg
    assert isinstance(info.value, KradleError)
    assert info.value.allowed == {DeliveryPhase.NORMALIZING}


def test_terminal_message_says_terminal() -> None:
    with pytest.raises(InvalidTransition, match="terminal"):
        transition(ConflictPhase.RESOLVED, ConflictPhase.OPEN)


def test_cross_family_refused_even_when_values_equal() -> None:
    # "Pending"/"Ready"/"Failed" exist in several families and compare equal as str.
    with pytest.raises(InvalidTransition, match="different phase family"):
        transition(ProviderPhase.PENDING, BindingPhase.VALIDATING_TARGET)
    assert not can_transition(BindingPhase.FAILED, WriteIntentPhase.READY_TO_SEND)
    # Explicit pairs are family-scoped: Failed->ReadyToSend is explicit for write intents only.
    assert (WriteIntentPhase.FAILED, WriteIntentPhase.READY_TO_SEND) in EXPLICIT_TRANSITIONS


def test_non_phase_enum_is_a_type_error() -> None:
    class Other(StrEnum):
        A = "a"

    with pytest.raises(TypeError, match="not a phase family"):
        allowed_next(Other.A)


ALL = [p for family in SPEC_NAMES for p in family]


@given(st.sampled_from(ALL), st.sampled_from(ALL), st.booleans())
def test_transition_agrees_with_can_transition(current: StrEnum, new: StrEnum, exp: bool) -> None:
    if can_transition(current, new, explicit=exp):
        assert transition(current, new, explicit=exp) is new
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(current, new, explicit=exp)
        for allowed in info.value.allowed:
            assert allowed.value in str(info.value)


@given(st.lists(st.sampled_from(list(DeliveryPhase)), max_size=30))
def test_random_delivery_walks_never_process_rejected(steps: list[DeliveryPhase]) -> None:
    phase = DeliveryPhase.RECEIVED
    visited = [phase]
    for step in steps:
        if can_transition(phase, step):
            phase = transition(phase, step)
            visited.append(phase)
    if DeliveryPhase.SIGNATURE_REJECTED in visited:
        assert visited[-1] is DeliveryPhase.SIGNATURE_REJECTED
        assert DeliveryPhase.PROCESSING not in visited
