"""The sync engine's durable records: checkpoints, projections, write intents, conflicts, audit.

These are the rows a :class:`kradle_providers.store.StateStore` keeps. They are
plain pydantic models, JSON-serializable (``model_dump(mode="json")``), and never
hold a secret: every free-text error is passed through
:func:`kradle_providers.auth.redact` when the record is built, and audit details
are scrubbed recursively (known secret values anywhere, and every value under a
credential-looking key).

Phase changes go through :func:`kradle_providers.sync.phases.transition`, so a
record cannot skip or reverse its lifecycle, and the SPEC §7 invariants are
checked where the phase changes: a ``Succeeded`` write carries the provider's
response or confirmation digest, and a write in ``Conflict`` links its conflict.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    field_validator,
    model_validator,
)

from kradle_providers.auth.secret import REDACTED, redact
from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import (
    CanonicalObject,
    ExternalRef,
    Interface,
    UtcDatetime,
    Version,
)
from kradle_providers.models.events import AnyCanonical
from kradle_providers.protocols.catalogue import OPERATIONS
from kradle_providers.sync.phases import (
    BackfillPhase,
    ConflictPhase,
    WriteIntentPhase,
    transition,
)

__all__ = [
    "Approval",
    "AuditEvent",
    "AuditOutcome",
    "Confirmation",
    "Conflict",
    "ConflictHistoryEntry",
    "ConflictReason",
    "Deletion",
    "FieldConflict",
    "IntentHistoryEntry",
    "ObjectKey",
    "Projection",
    "ProjectionSource",
    "Resolution",
    "SyncCounters",
    "SyncState",
    "WriteIntent",
    "content_digest",
    "kind_of",
    "redact_json",
]

# Keys whose values are credentials whatever they contain (audit details).
_SENSITIVE_KEYS = ("token", "secret", "password", "authorization", "private_key", "api_key")


@functools.cache
def _canonical() -> TypeAdapter[Any]:
    # Built on first use: the union of every canonical kind is the costliest schema to build.
    return TypeAdapter(AnyCanonical)


def _now() -> datetime:
    return datetime.now(UTC)


def _redact_opt(value: str | None) -> str | None:
    return redact(value) if value is not None else None


def redact_json(value: Any) -> Any:
    """``value`` with every known secret scrubbed from keys and strings, recursively.

    A value stored under a credential-looking key (``token``, ``password``,
    ``authorization`` …) is replaced by ``***`` even when it is not a known
    secret: audit details come from many places and one of them will forget.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = redact(str(key))
            lowered = name.lower().replace("-", "_")
            if any(word in lowered for word in _SENSITIVE_KEYS) and item is not None:
                out[name] = REDACTED
            else:
                out[name] = redact_json(item)
        return out
    if isinstance(value, list | tuple):
        return [redact_json(item) for item in value]
    return value


def content_digest(data: Any) -> str:
    """A stable SHA-256 of JSON data (sorted keys, compact), for change detection."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


class _Record(BaseModel):
    # Schemas are built on first use: a command that reads one kind of record builds one.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


# --------------------------------------------------------------------------- sync state


class SyncCounters(_Record):
    """What a backfill run has done so far; carried in its checkpoint."""

    listed: int = 0
    hydrated: int = 0
    applied: int = 0
    unchanged: int = 0
    stale: int = 0
    tombstoned: int = 0
    errors: int = 0
    pages: int = 0

    def plus(self, **deltas: int) -> SyncCounters:
        """A copy with each named counter increased by its delta."""
        unknown = set(deltas) - set(type(self).model_fields)
        if unknown:
            raise InvalidInput(
                f"unknown counter(s) {sorted(unknown)}; known: {sorted(type(self).model_fields)}",
                field="counters",
            )
        return self.model_copy(update={k: getattr(self, k) + v for k, v in deltas.items()})


class SyncState(_Record):
    """The checkpoint of one (binding, interface, kind, scope) sync stream.

    ``cursor`` is the provider's opaque next-page cursor (``Page.next_cursor``);
    ``checkpoint`` is any further JSON the engine needs to resume; both are
    stored and returned unchanged. ``high_water_mark`` is the ``since`` for
    the next incremental listing.
    """

    binding: str
    interface: Interface
    kind: str
    scope: str = "-"
    phase: BackfillPhase = BackfillPhase.SCHEDULED
    cursor: str | None = None
    checkpoint: dict[str, JsonValue] = Field(default_factory=dict)
    high_water_mark: UtcDatetime | None = None
    last_delivery_id: str | None = None
    updated_at: UtcDatetime = Field(default_factory=_now)
    error: str | None = None
    counters: SyncCounters = Field(default_factory=SyncCounters)

    _redact_error = field_validator("error")(_redact_opt)

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_slug(cls, value: Any) -> Any:
        # Accept the ExternalRef itself; the state key is its slug.
        return value.slug() if isinstance(value, ExternalRef) else value

    def key(self) -> tuple[str, str, str, str]:
        """The identity of the stream: (binding, interface, kind, scope)."""
        return (self.binding, self.interface.value, self.kind, self.scope)

    def advance(
        self, phase: BackfillPhase, *, at: datetime | None = None, error: str | None = None
    ) -> SyncState:
        """A copy moved to ``phase`` (enforced); ``error`` is redacted, cleared on success."""
        new = transition(self.phase, phase)
        updates: dict[str, Any] = {"phase": new, "updated_at": at or _now()}
        if error is not None:
            updates["error"] = redact(error)
        elif new is BackfillPhase.SUCCEEDED:
            updates["error"] = None
        return self.model_copy(update=updates)


# --------------------------------------------------------------------------- projections


class ProjectionSource(StrEnum):
    """Where the state of a projected object last came from."""

    BACKFILL = "backfill"
    WEBHOOK = "webhook"
    WRITE = "write"


class ObjectKey(_Record):
    """The identity of a synced object: provider instance, interface, canonical kind, native id.

    The canonical kind (``Issue``, ``Pipeline``), not the native kind, is part of
    the key because a deletion event may carry nothing but the kind and the
    native id. A provider whose one canonical kind spans several native id
    spaces (GitHub check runs and commit statuses are both ``Check``) must make
    ``native_id`` unique across them, e.g. by a prefix.
    """

    provider_type: str
    instance: str = "default"
    interface: Interface
    kind: str
    native_id: str

    @classmethod
    def of(cls, obj: CanonicalObject) -> ObjectKey:
        """The key of a canonical object."""
        env = obj.external
        return cls(
            provider_type=env.provider.type,
            instance=env.provider.instance,
            interface=env.interface,
            kind=kind_of(obj),
            native_id=env.native_id,
        )

    def as_tuple(self) -> tuple[str, str, str, str, str]:
        """(provider_type, instance, interface, kind, native_id)."""
        return (self.provider_type, self.instance, self.interface.value, self.kind, self.native_id)

    def kind_path(self) -> str:
        """``<interface>/<Kind>``, the grouping ``count_by_kind`` reports."""
        return f"{self.interface.value}/{self.kind}"


def kind_of(obj: CanonicalObject) -> str:
    """The canonical kind name of ``obj`` (``Issue``, ``Pipeline`` …)."""
    kind = getattr(obj, "kind", None)
    return kind if isinstance(kind, str) else type(obj).kind_name()


class Projection(_Record):
    """The last known state of one external object, as the reconciler applied it.

    ``object`` is ``model_dump(mode="json")`` of the canonical object (``None``
    for a tombstone of an object never seen alive: the deletion arrived first and
    must still win over the older create). ``version_key`` is the envelope
    version's sort key, kept so that ordering survives a round trip.
    """

    key: ObjectKey
    binding: str
    native_kind: str | None = None
    object: dict[str, JsonValue] | None = None
    version: Version = Field(default_factory=Version)
    content_digest: str | None = None
    tombstoned: bool = False
    tombstoned_at: UtcDatetime | None = None
    first_seen_at: UtcDatetime
    updated_at: UtcDatetime
    source: ProjectionSource
    last_delivery_id: str | None = None

    @property
    def kind(self) -> str:
        """The canonical kind name."""
        return self.key.kind

    @property
    def version_key(self) -> tuple[datetime, int]:
        """The sort key of :attr:`version`."""
        return self.version.sort_key()

    def canonical(self) -> CanonicalObject:
        """The canonical object, validated back into its model; raises if there is none."""
        if self.object is None:
            raise InvalidInput(
                f"{self.key.kind} {self.key.native_id} was deleted before it was ever seen; "
                "there is no object to load (check `tombstoned` first)",
                field="object",
            )
        obj: CanonicalObject = _canonical().validate_python(self.object)
        return obj


class Deletion(_Record):
    """An observed deletion of one object, to apply as a tombstone.

    ``version`` orders it against the object's other states; a deletion that
    carries none is ordered at ``at`` (when it was observed).
    """

    key: ObjectKey
    version: Version | None = None
    at: UtcDatetime | None = None


# --------------------------------------------------------------------------- write intents


class Approval(_Record):
    """Who approved (or rejected) a write, when, and why."""

    by: str
    at: UtcDatetime
    note: str | None = None


class Confirmation(_Record):
    """How a write was confirmed: the confirming webhook delivery, or a read-back digest."""

    delivery_id: str | None = None
    readback_digest: str | None = None
    at: UtcDatetime = Field(default_factory=_now)


class IntentHistoryEntry(_Record):
    """One step of a write intent's lifecycle."""

    phase: WriteIntentPhase
    at: UtcDatetime
    note: str | None = None


class WriteIntent(_Record):
    """One host/agent-originated write, from request to confirmation.

    ``target`` is where the write applies and ``object_id`` the native id of the
    object it changes (``None`` for a create). ``payload`` is the JSON of the
    canonical input (``IssueUpdate`` …). ``idempotency_key`` is sent to the
    provider (or used to find the write again) so a retry never duplicates it.
    """

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    binding: str
    interface: Interface
    operation: str
    target: ExternalRef
    object_id: str | None = None
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    idempotency_key: str
    actor: str
    phase: WriteIntentPhase = WriteIntentPhase.PENDING_APPROVAL
    created_at: UtcDatetime = Field(default_factory=_now)
    updated_at: UtcDatetime = Field(default_factory=_now)
    approval: Approval | None = None
    rejection: Approval | None = None
    attempts: int = 0
    last_error: str | None = None
    request_digest: str | None = None
    response_digest: str | None = None
    confirmation: Confirmation | None = None
    conflict_id: str | None = None
    history: tuple[IntentHistoryEntry, ...] = ()
    # Additive (write-intent engine): the condition sent with the write, the
    # last-synced values of the written fields (the three-way base), and what
    # the provider answered (its object key and version) for confirmation.
    expected_version: str | None = None
    base: dict[str, JsonValue] | None = None
    object_key: ObjectKey | None = None
    written_version: Version | None = None
    next_attempt_at: UtcDatetime | None = None

    _redact_error = field_validator("last_error")(_redact_opt)

    @field_validator("payload", mode="after")
    @classmethod
    def _redact_payload(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        redacted: dict[str, JsonValue] = redact_json(value)
        return redacted

    @field_validator("operation")
    @classmethod
    def _known_write(cls, value: str) -> str:
        info = OPERATIONS.get(value)
        if info is None:
            raise ValueError(
                f"unknown operation {value!r}; use a canonical name from "
                "kradle_providers.protocols.catalogue.OPERATIONS (e.g. 'updateIssue')"
            )
        if not info.write:
            raise ValueError(f"{value} does not write; only write operations become intents")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WriteIntent:
        # InvalidInput is not a ValueError, so pydantic lets it through unwrapped.
        info = OPERATIONS[self.operation]
        if info.interface is not self.interface:
            raise InvalidInput(
                f"{self.operation} is a {info.interface.value} operation, "
                f"not {self.interface.value}; set interface={info.interface.value!r}",
                field="interface",
            )
        _check_intent_invariants(self)
        return self

    @classmethod
    def new(cls, *, at: datetime | None = None, **fields: Any) -> WriteIntent:
        """A new intent in ``PendingApproval`` with its first history entry."""
        when = at or _now()
        phase = fields.pop("phase", WriteIntentPhase.PENDING_APPROVAL)
        return cls(
            created_at=when,
            updated_at=when,
            phase=phase,
            history=(IntentHistoryEntry(phase=phase, at=when),),
            **fields,
        )

    def advance(
        self,
        phase: WriteIntentPhase,
        *,
        at: datetime | None = None,
        note: str | None = None,
        explicit: bool = False,
        **changes: Any,
    ) -> WriteIntent:
        """A copy moved to ``phase`` (enforced) with ``changes`` applied and history appended.

        Entering ``Sending`` counts an attempt. Raises
        :class:`~kradle_providers.sync.phases.InvalidTransition` for a move the
        table forbids, :class:`InvalidInput` when an invariant would break.
        """
        new = transition(self.phase, phase, explicit=explicit)
        when = at or _now()
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise InvalidInput(f"unknown write-intent field(s) {sorted(unknown)}", field="changes")
        updates: dict[str, Any] = dict(changes)
        updates["phase"] = new
        updates["updated_at"] = when
        entry = IntentHistoryEntry(phase=new, at=when, note=_redact_opt(note))
        updates["history"] = (*self.history, entry)
        if new is WriteIntentPhase.SENDING:
            updates.setdefault("attempts", self.attempts + 1)
        data = self.model_dump()
        data.update(updates)
        # Re-validate so redaction and the invariants apply to the new state.
        return type(self).model_validate(data)

    def approve(
        self, by: str, *, at: datetime | None = None, note: str | None = None
    ) -> WriteIntent:
        """Approve a pending write (an explicit operator action): ``ReadyToSend``."""
        when = at or _now()
        return self.advance(
            WriteIntentPhase.READY_TO_SEND,
            at=when,
            note=note or f"approved by {by}",
            explicit=True,
            approval=Approval(by=by, at=when, note=note),
        )

    def reject(
        self, by: str, *, at: datetime | None = None, reason: str | None = None
    ) -> WriteIntent:
        """Reject the write: ``Rejected``, never sent."""
        when = at or _now()
        return self.advance(
            WriteIntentPhase.REJECTED,
            at=when,
            note=reason or f"rejected by {by}",
            rejection=Approval(by=by, at=when, note=reason),
        )


def _check_intent_invariants(intent: WriteIntent) -> None:
    if intent.phase is WriteIntentPhase.SUCCEEDED and not (
        intent.response_digest or intent.confirmation
    ):
        raise InvalidInput(
            "a Succeeded write must carry the provider's response digest or a confirmation; "
            "pass response_digest=... or confirmation=Confirmation(...)",
            field="response_digest",
        )
    if intent.phase is WriteIntentPhase.CONFLICT and not intent.conflict_id:
        raise InvalidInput(
            "a write in Conflict must link its conflict; create the Conflict first and "
            "pass conflict_id=conflict.id",
            field="conflict_id",
        )


# --------------------------------------------------------------------------- conflicts


class ConflictReason(StrEnum):
    """Why a conflict was raised (SPEC §7)."""

    BOTH_CHANGED = "both_changed"
    PRECONDITION_FAILED = "precondition_failed"
    LOSSY_REPRESENTATION = "lossy_representation"
    OWNERSHIP_FORBIDS = "ownership_forbids"
    UNCONFIRMED_WRITE = "unconfirmed_write"


class Resolution(StrEnum):
    """How a conflict was (or is being) resolved."""

    PREFER_EXTERNAL = "prefer_external"
    PREFER_LOCAL = "prefer_local"
    MANUAL_MERGE = "manual_merge"
    REVIEWED_PROVIDER_CHANGE = "reviewed_provider_change"
    IGNORE_WITH_WARNING = "ignore_with_warning"


class FieldConflict(_Record):
    """One field's three values: at the last sync (base), desired here (local), the provider's."""

    field: str
    base: JsonValue = None
    local: JsonValue = None
    external: JsonValue = None


class ConflictHistoryEntry(_Record):
    """One step of a conflict's lifecycle."""

    phase: ConflictPhase
    at: UtcDatetime
    note: str | None = None


class Conflict(_Record):
    """A detected divergence between local desired state and the provider's state."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    binding: str
    key: ObjectKey
    reason: ConflictReason
    fields: list[FieldConflict] = Field(default_factory=list)
    phase: ConflictPhase = ConflictPhase.OPEN
    resolution: Resolution | None = None
    resolved_values: dict[str, JsonValue] = Field(default_factory=dict)
    resolved_by: str | None = None
    resolved_at: UtcDatetime | None = None
    intent_id: str | None = None
    message: str | None = None
    # Additive: the provider's version of the object when the conflict was seen,
    # so that "prefer local" can re-send conditionally on it.
    external_version: Version | None = None
    created_at: UtcDatetime = Field(default_factory=_now)
    updated_at: UtcDatetime = Field(default_factory=_now)
    history: tuple[ConflictHistoryEntry, ...] = ()

    _redact_message = field_validator("message")(_redact_opt)

    @property
    def kind(self) -> str:
        """The canonical kind of the conflicting object."""
        return self.key.kind

    @classmethod
    def new(cls, *, at: datetime | None = None, **fields: Any) -> Conflict:
        """A new ``Open`` conflict with its first history entry."""
        when = at or _now()
        return cls(
            created_at=when,
            updated_at=when,
            history=(ConflictHistoryEntry(phase=ConflictPhase.OPEN, at=when),),
            **fields,
        )

    def advance(
        self,
        phase: ConflictPhase,
        *,
        at: datetime | None = None,
        note: str | None = None,
        **changes: Any,
    ) -> Conflict:
        """A copy moved to ``phase`` (enforced) with ``changes`` and a history entry."""
        new = transition(self.phase, phase)
        when = at or _now()
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise InvalidInput(f"unknown conflict field(s) {sorted(unknown)}", field="changes")
        data = self.model_dump()
        data.update(changes)
        data["phase"] = new
        data["updated_at"] = when
        entry = ConflictHistoryEntry(phase=new, at=when, note=_redact_opt(note))
        data["history"] = (*self.history, entry)
        return type(self).model_validate(data)

    def resolve(
        self,
        resolution: Resolution,
        *,
        by: str,
        values: dict[str, JsonValue] | None = None,
        at: datetime | None = None,
        note: str | None = None,
    ) -> Conflict:
        """Record a resolution: ``Resolved``, or ``Ignored`` for ignore-with-warning.

        From ``Open`` it passes through ``Resolving`` (both steps in the history).
        ``manual_merge`` needs the merged ``values``.
        """
        if resolution is Resolution.MANUAL_MERGE and not values:
            raise InvalidInput(
                "a manual merge needs the merged field values; pass values={field: value}",
                field="values",
            )
        when = at or _now()
        fields: dict[str, Any] = {
            "resolution": resolution,
            "resolved_values": values or {},
            "resolved_by": by,
            "resolved_at": when,
        }
        if resolution is Resolution.IGNORE_WITH_WARNING:
            return self.advance(ConflictPhase.IGNORED, at=when, note=note, **fields)
        current = self
        if current.phase is ConflictPhase.OPEN:
            current = current.advance(
                ConflictPhase.RESOLVING, at=when, note=f"{resolution} by {by}"
            )
        return current.advance(ConflictPhase.RESOLVED, at=when, note=note, **fields)


# --------------------------------------------------------------------------- audit


class AuditOutcome(StrEnum):
    """How the audited action ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DENIED = "denied"
    PENDING = "pending"


class AuditEvent(_Record):
    """One entry of the audit stream (SPEC §8): who did what, where, how it ended.

    ``id`` is assigned by the store (monotonic, never reused); ``details`` and
    every free-text field are redacted when the event is built.
    """

    id: int | None = None
    at: UtcDatetime = Field(default_factory=_now)
    actor: str
    action: str
    binding: str | None = None
    interface: Interface | None = None
    operation: str | None = None
    target: str | None = None
    outcome: AuditOutcome = AuditOutcome.SUCCEEDED
    request_digest: str | None = None
    response_digest: str | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("actor", "action", "target", mode="after")
    @classmethod
    def _redact_text(cls, value: str | None) -> str | None:
        return _redact_opt(value)

    @field_validator("details", mode="after")
    @classmethod
    def _redact_details(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        redacted: dict[str, JsonValue] = redact_json(value)
        return redacted

    def redacted(self) -> AuditEvent:
        """A copy re-scrubbed against every secret known now (registered after creation)."""
        return type(self).model_validate(self.model_dump())
