"""The SPEC §7 phase state machines: stable enums, allowed transitions, one enforcer.

Every long-lived sync object (provider instance, binding, webhook delivery,
backfill run, write intent, conflict) moves through a fixed vocabulary of
phases. The values are stable strings (they are stored and shown to operators);
the allowed transitions live in one table per family and are enforced by the
single :func:`transition` helper, so an impossible move (processing a delivery
whose signature was rejected, sending a write still pending approval) is an
error at the point it is attempted, not a bug found later in the data.

Some transitions are *explicit*: an operator action (replaying a dead-lettered
delivery, skipping it, approving a write). They are refused unless the caller
passes ``explicit=True``, so automatic machinery can never take them by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from kradle_providers.errors import KradleError

__all__ = [
    "EXPLICIT_TRANSITIONS",
    "INITIAL_PHASES",
    "PHASE_ACTIONS",
    "TRANSITIONS",
    "BackfillPhase",
    "BindingPhase",
    "ConflictPhase",
    "DeliveryPhase",
    "InvalidTransition",
    "ProviderPhase",
    "WriteIntentPhase",
    "allowed_next",
    "can_transition",
    "is_terminal",
    "transition",
]


class ProviderPhase(StrEnum):
    """Lifecycle of one configured provider instance."""

    PENDING = "Pending"
    AUTHENTICATING = "Authenticating"
    DISCOVERING = "Discovering"
    READY = "Ready"
    DEGRADED = "Degraded"
    PAUSED = "Paused"
    FAILED = "Failed"


class BindingPhase(StrEnum):
    """Lifecycle of a binding between a host target and provider instances."""

    PENDING = "Pending"
    VALIDATING_TARGET = "ValidatingTarget"
    REGISTERING_WEBHOOK = "RegisteringWebhook"
    BACKFILLING = "Backfilling"
    READY = "Ready"
    CONFLICT = "Conflict"
    PAUSED = "Paused"
    FAILED = "Failed"


class DeliveryPhase(StrEnum):
    """Lifecycle of one received webhook delivery."""

    RECEIVED = "Received"
    SIGNATURE_REJECTED = "SignatureRejected"
    QUEUED = "Queued"
    NORMALIZING = "Normalizing"
    PROCESSING = "Processing"
    SUCCEEDED = "Succeeded"
    RETRYING = "Retrying"
    DEAD_LETTERED = "DeadLettered"


class BackfillPhase(StrEnum):
    """Lifecycle of one cursor backfill run."""

    SCHEDULED = "Scheduled"
    LISTING = "Listing"
    HYDRATING = "Hydrating"
    APPLYING = "Applying"
    CHECKPOINTING = "Checkpointing"
    SUCCEEDED = "Succeeded"
    RATE_LIMITED = "RateLimited"
    FAILED = "Failed"


class WriteIntentPhase(StrEnum):
    """Lifecycle of one host/agent-originated write."""

    PENDING_APPROVAL = "PendingApproval"
    READY_TO_SEND = "ReadyToSend"
    SENDING = "Sending"
    AWAITING_CONFIRMATION = "AwaitingConfirmation"
    SUCCEEDED = "Succeeded"
    CONFLICT = "Conflict"
    RETRYING = "Retrying"
    REJECTED = "Rejected"
    FAILED = "Failed"


class ConflictPhase(StrEnum):
    """Lifecycle of one detected conflict."""

    OPEN = "Open"
    RESOLVING = "Resolving"
    RESOLVED = "Resolved"
    IGNORED = "Ignored"
    SUPERSEDED = "Superseded"


_P = ProviderPhase
_B = BindingPhase
_D = DeliveryPhase
_F = BackfillPhase
_W = WriteIntentPhase
_C = ConflictPhase

TRANSITIONS: Mapping[type[StrEnum], Mapping[StrEnum, frozenset[StrEnum]]] = {
    ProviderPhase: {
        _P.PENDING: frozenset({_P.AUTHENTICATING, _P.PAUSED, _P.FAILED}),
        _P.AUTHENTICATING: frozenset({_P.DISCOVERING, _P.DEGRADED, _P.PAUSED, _P.FAILED}),
        _P.DISCOVERING: frozenset({_P.READY, _P.DEGRADED, _P.PAUSED, _P.FAILED}),
        # Ready -> Authenticating: credential rotation re-checks the instance.
        _P.READY: frozenset({_P.AUTHENTICATING, _P.DEGRADED, _P.PAUSED, _P.FAILED}),
        _P.DEGRADED: frozenset({_P.READY, _P.AUTHENTICATING, _P.PAUSED, _P.FAILED}),
        _P.PAUSED: frozenset({_P.READY, _P.AUTHENTICATING, _P.FAILED}),
        # A failed instance is retried from authentication once fixed.
        _P.FAILED: frozenset({_P.AUTHENTICATING, _P.PAUSED}),
    },
    BindingPhase: {
        _B.PENDING: frozenset({_B.VALIDATING_TARGET, _B.PAUSED, _B.FAILED}),
        # A binding without webhooks (poll only) goes straight to backfill.
        _B.VALIDATING_TARGET: frozenset(
            {_B.REGISTERING_WEBHOOK, _B.BACKFILLING, _B.PAUSED, _B.FAILED}
        ),
        _B.REGISTERING_WEBHOOK: frozenset({_B.BACKFILLING, _B.PAUSED, _B.FAILED}),
        _B.BACKFILLING: frozenset({_B.READY, _B.CONFLICT, _B.PAUSED, _B.FAILED}),
        _B.READY: frozenset(
            {_B.VALIDATING_TARGET, _B.BACKFILLING, _B.CONFLICT, _B.PAUSED, _B.FAILED}
        ),
        _B.CONFLICT: frozenset({_B.READY, _B.BACKFILLING, _B.PAUSED, _B.FAILED}),
        # Paused blocks new backfills: resuming goes to Ready (or re-validation).
        _B.PAUSED: frozenset({_B.READY, _B.VALIDATING_TARGET, _B.FAILED}),
        _B.FAILED: frozenset({_B.VALIDATING_TARGET, _B.PAUSED}),
    },
    DeliveryPhase: {
        _D.RECEIVED: frozenset({_D.QUEUED, _D.SIGNATURE_REJECTED}),
        # Terminal: a delivery that failed verification is never processed.
        _D.SIGNATURE_REJECTED: frozenset(),
        _D.QUEUED: frozenset({_D.NORMALIZING}),
        # Ignored events succeed without processing; malformed or unknown
        # payloads cannot improve by retrying and are dead-lettered at once.
        _D.NORMALIZING: frozenset({_D.PROCESSING, _D.SUCCEEDED, _D.RETRYING, _D.DEAD_LETTERED}),
        _D.PROCESSING: frozenset({_D.SUCCEEDED, _D.RETRYING, _D.DEAD_LETTERED}),
        _D.RETRYING: frozenset({_D.QUEUED, _D.DEAD_LETTERED}),
        # Only explicit operator actions: replay (-> Queued) or skip (-> Succeeded).
        _D.DEAD_LETTERED: frozenset({_D.QUEUED, _D.SUCCEEDED}),
        # An operator may replay a delivery that already succeeded.
        _D.SUCCEEDED: frozenset({_D.QUEUED}),
    },
    BackfillPhase: {
        _F.SCHEDULED: frozenset({_F.LISTING, _F.FAILED}),
        _F.LISTING: frozenset(
            {_F.HYDRATING, _F.APPLYING, _F.SUCCEEDED, _F.RATE_LIMITED, _F.FAILED}
        ),
        _F.HYDRATING: frozenset({_F.APPLYING, _F.RATE_LIMITED, _F.FAILED}),
        _F.APPLYING: frozenset({_F.CHECKPOINTING, _F.RATE_LIMITED, _F.FAILED}),
        # After a checkpoint: the next page, or done.
        _F.CHECKPOINTING: frozenset({_F.LISTING, _F.SUCCEEDED, _F.FAILED}),
        # Resume where the budget ran out (or reschedule from the checkpoint).
        _F.RATE_LIMITED: frozenset({_F.SCHEDULED, _F.LISTING, _F.HYDRATING, _F.FAILED}),
        _F.SUCCEEDED: frozenset(),
        # A failed run resumes from its stored checkpoint.
        _F.FAILED: frozenset({_F.SCHEDULED}),
    },
    WriteIntentPhase: {
        # PendingApproval never calls the provider: it can only be approved or rejected.
        _W.PENDING_APPROVAL: frozenset({_W.READY_TO_SEND, _W.REJECTED}),
        _W.READY_TO_SEND: frozenset({_W.SENDING, _W.CONFLICT, _W.REJECTED, _W.FAILED}),
        _W.SENDING: frozenset(
            {
                _W.AWAITING_CONFIRMATION,
                _W.SUCCEEDED,
                _W.RETRYING,
                _W.CONFLICT,
                _W.REJECTED,
                _W.FAILED,
            }
        ),
        # Unconfirmed past the timeout becomes a conflict.
        _W.AWAITING_CONFIRMATION: frozenset({_W.SUCCEEDED, _W.CONFLICT, _W.FAILED}),
        _W.RETRYING: frozenset({_W.SENDING, _W.CONFLICT, _W.FAILED}),
        # A resolved conflict either re-sends, finds the write applied, or drops it.
        _W.CONFLICT: frozenset({_W.READY_TO_SEND, _W.SUCCEEDED, _W.REJECTED, _W.FAILED}),
        _W.SUCCEEDED: frozenset(),
        _W.REJECTED: frozenset(),
        # An operator may retry a failed write; it is approved again by doing so.
        _W.FAILED: frozenset({_W.READY_TO_SEND}),
    },
    ConflictPhase: {
        _C.OPEN: frozenset({_C.RESOLVING, _C.IGNORED, _C.SUPERSEDED}),
        # A resolution that fails reopens the conflict.
        _C.RESOLVING: frozenset({_C.RESOLVED, _C.OPEN, _C.SUPERSEDED}),
        _C.RESOLVED: frozenset(),
        _C.IGNORED: frozenset(),
        _C.SUPERSEDED: frozenset(),
    },
}
"""Allowed next phases, per family, per phase."""

EXPLICIT_TRANSITIONS: frozenset[tuple[StrEnum, StrEnum]] = frozenset(
    {
        (_D.DEAD_LETTERED, _D.QUEUED),  # replay
        (_D.DEAD_LETTERED, _D.SUCCEEDED),  # skip
        (_D.SUCCEEDED, _D.QUEUED),  # replay of a processed delivery
        (_W.PENDING_APPROVAL, _W.READY_TO_SEND),  # approval
        (_W.FAILED, _W.READY_TO_SEND),  # operator retry
    }
)
"""Transitions only an operator action may take (``transition(..., explicit=True)``)."""

# StrEnum members of different families compare equal by value ("Pending",
# "Failed"), so membership checks key on the family as well.
_EXPLICIT: frozenset[tuple[type[StrEnum], str, str]] = frozenset(
    (type(a), a.value, b.value) for a, b in EXPLICIT_TRANSITIONS
)


def _is_explicit(current: StrEnum, new: StrEnum) -> bool:
    return (type(current), current.value, new.value) in _EXPLICIT


PHASE_ACTIONS: Mapping[type[StrEnum], str] = {
    ProviderPhase: "phase.provider",
    BindingPhase: "phase.binding",
}
"""The audit action each phase family's moves are recorded under."""

INITIAL_PHASES: Mapping[type[StrEnum], StrEnum] = {
    ProviderPhase: _P.PENDING,
    BindingPhase: _B.PENDING,
    DeliveryPhase: _D.RECEIVED,
    BackfillPhase: _F.SCHEDULED,
    WriteIntentPhase: _W.PENDING_APPROVAL,
    ConflictPhase: _C.OPEN,
}
"""Where each family starts."""

PhaseT = TypeVar("PhaseT", bound=StrEnum)


class InvalidTransition(KradleError):
    """A phase change the family's transition table does not allow."""

    def __init__(
        self,
        current: StrEnum,
        new: StrEnum,
        allowed: frozenset[StrEnum],
        *,
        reason: str | None = None,
    ) -> None:
        self.current = current
        self.new = new
        self.allowed = allowed
        family = type(current).__name__
        options = ", ".join(sorted(p.value for p in allowed)) or "none (terminal phase)"
        why = f": {reason}" if reason else ""
        super().__init__(
            f"{family}: cannot go from {current.value} to {new.value}{why}. "
            f"Allowed next phases from {current.value}: {options}."
        )


def _table(phase: StrEnum) -> Mapping[StrEnum, frozenset[StrEnum]]:
    try:
        return TRANSITIONS[type(phase)]
    except KeyError:
        raise TypeError(f"{type(phase).__name__} is not a phase family") from None


def allowed_next(phase: StrEnum, *, explicit: bool = False) -> frozenset[StrEnum]:
    """The phases reachable in one step; explicit-only ones need ``explicit=True``."""
    nexts = _table(phase)[phase]
    if explicit:
        return nexts
    return frozenset(n for n in nexts if not _is_explicit(phase, n))


def can_transition(current: StrEnum, new: StrEnum, *, explicit: bool = False) -> bool:
    """Whether ``current -> new`` is allowed (same family, in the table)."""
    return type(current) is type(new) and new in allowed_next(current, explicit=explicit)


def is_terminal(phase: StrEnum) -> bool:
    """A phase nothing can leave, not even an operator action."""
    return not _table(phase)[phase]


def transition(current: PhaseT, new: PhaseT, *, explicit: bool = False) -> PhaseT:
    """Return ``new`` if ``current -> new`` is allowed, else raise :class:`InvalidTransition`.

    ``explicit=True`` marks an operator action (replay, skip, approve); the
    transitions in :data:`EXPLICIT_TRANSITIONS` are refused without it.
    """
    table = _table(current)
    if type(new) is not type(current):
        raise InvalidTransition(
            current,
            new,
            allowed_next(current, explicit=explicit),
            reason=f"{type(new).__name__} is a different phase family",
        )
    nexts = table[current]
    if new not in nexts:
        raise InvalidTransition(current, new, allowed_next(current, explicit=explicit))
    if _is_explicit(current, new) and not explicit:
        raise InvalidTransition(
            current,
            new,
            allowed_next(current),
            reason="only an explicit operator action (replay, skip, approve) may take it",
        )
    return new
