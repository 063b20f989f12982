"""Conflicts: three-way per-field detection and the SPEC §7 resolutions.

Detection (:func:`detect`) compares, field by field, the value at the last
sync (*base*), the value the host wants (*local*, the intent's payload) and the
provider's current value (*external*). A field changed on both sides to
different values is a :class:`~kradle_providers.sync.records.FieldConflict`;
a field changed on one side only is merged (the changed side wins); a field
both sides changed to the same value has converged.

Values are compared in a comparable form (:func:`comparable_fields`): a rich
text body by its Markdown, labels and assignees as sorted names, an issue or
pull request state by its normalized state. A field absent on a side counts as
``None`` there.

Resolution (:class:`ConflictResolver`) moves the conflict ``Open -> Resolving
-> Resolved`` (``Ignored`` for ignore-with-warning) and the linked write intent
with it, and audits every step:

======================== ============================================================
resolution               linked intent
======================== ============================================================
prefer_external          ``Rejected``: the local change is dropped
prefer_local             ``ReadyToSend`` again, conditional on the external version seen
manual_merge             ``ReadyToSend`` with the merged ``values`` as its payload
reviewed_provider_change ``Succeeded`` if the write was applied (the provider's
                         version is accepted after review), else ``Rejected``
ignore_with_warning      as reviewed_provider_change, with the warning kept
======================== ============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import Version
from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.phases import (
    ConflictPhase,
    InvalidTransition,
    WriteIntentPhase,
    allowed_next,
)
from kradle_providers.sync.policy import Authorizer, allow_all, check_approver
from kradle_providers.sync.records import (
    AuditEvent,
    AuditOutcome,
    Confirmation,
    Conflict,
    FieldConflict,
    Resolution,
    WriteIntent,
    content_digest,
)

__all__ = [
    "ConflictResolver",
    "ThreeWay",
    "comparable_fields",
    "comparable_value",
    "detect",
    "version_token",
]


def _names(items: Any, attr: str) -> list[str]:
    out: list[str] = []
    for item in items or []:
        if isinstance(item, Mapping):
            value = item.get(attr) or item.get("name") or item.get("native_id")
            if value is not None:
                out.append(str(value))
        elif item is not None:
            out.append(str(item))
    return sorted(out)


def comparable_value(name: str, value: Any) -> JsonValue:
    """``value`` of field ``name`` in the form three-way comparison uses."""
    if name == "body" and isinstance(value, Mapping):
        markdown = value.get("markdown")
        return markdown if isinstance(markdown, str) else None
    if name in ("labels", "assignees", "reviewers") and isinstance(value, list | tuple):
        return list(_names(value, "username"))
    if name == "state" and isinstance(value, Mapping):
        state = value.get("state")
        return state if isinstance(state, str) else None
    result: JsonValue = value
    return result


def comparable_fields(obj: Mapping[str, Any] | None, names: Iterable[str]) -> dict[str, JsonValue]:
    """The comparable values of ``names`` in a canonical object's JSON (or a payload).

    A canonical object keeps a state under ``status``; a write input names it
    ``state``: both compare as the normalized state string.
    """
    if obj is None:
        return {name: None for name in names}
    out: dict[str, JsonValue] = {}
    for name in names:
        raw = obj.get(name)
        if name == "state" and raw is None and isinstance(obj.get("status"), Mapping):
            raw = obj["status"]
        out[name] = comparable_value(name, raw)
    return out


@dataclass(frozen=True)
class ThreeWay:
    """The outcome of a three-way comparison.

    ``conflicts`` lists the fields changed on both sides to different values;
    ``merged`` is every field's value after the merge (for a conflicting field,
    the external value, until someone resolves it); ``to_send`` is the part of
    ``merged`` that differs from external: what still has to be written.
    """

    conflicts: list[FieldConflict] = field(default_factory=list)
    merged: dict[str, JsonValue] = field(default_factory=dict)
    to_send: dict[str, JsonValue] = field(default_factory=dict)
    local_changes: frozenset[str] = frozenset()
    external_changes: frozenset[str] = frozenset()

    @property
    def clean(self) -> bool:
        """Whether the merge needs no one's decision."""
        return not self.conflicts


def detect(
    base: Mapping[str, JsonValue],
    local: Mapping[str, JsonValue],
    external: Mapping[str, JsonValue],
) -> ThreeWay:
    """Three-way, per-field comparison of base, local (desired) and external values.

    ``local`` is partial: a field it does not name is unchanged locally. Fields
    are compared with ``==`` on the comparable forms (see
    :func:`comparable_fields`).
    """
    names = sorted(set(base) | set(local) | set(external))
    conflicts: list[FieldConflict] = []
    merged: dict[str, JsonValue] = {}
    local_changes: set[str] = set()
    external_changes: set[str] = set()
    for name in names:
        b = base.get(name)
        e = external.get(name)
        local_changed = name in local and local[name] != b
        external_changed = e != b
        if local_changed:
            local_changes.add(name)
        if external_changed:
            external_changes.add(name)
        if local_changed and external_changed and local[name] != e:
            conflicts.append(FieldConflict(field=name, base=b, local=local[name], external=e))
            merged[name] = e
        elif local_changed:
            merged[name] = local[name]
        else:
            merged[name] = e
    to_send = {k: v for k, v in merged.items() if v != external.get(k)}
    return ThreeWay(
        conflicts=conflicts,
        merged=merged,
        to_send=to_send,
        local_changes=frozenset(local_changes),
        external_changes=frozenset(external_changes),
    )


def version_token(version: Version | None) -> str | None:
    """The string a conditional write sends for ``version`` (etag, else time, else sequence)."""
    if version is None:
        return None
    if version.etag:
        return version.etag
    if version.updated_at is not None:
        return version.updated_at.isoformat()
    if version.sequence is not None:
        return str(version.sequence)
    return version.sha


class ConflictResolver:
    """Resolves conflicts in a store and moves their linked intents (see the module table).

    ``authorize`` checks the resolver holds the review permission; ``clock``
    stamps the records (default: the store's clock when it has one).
    """

    def __init__(
        self,
        store: StateStore,
        *,
        authorize: Authorizer = allow_all,
        clock: Any = None,
    ) -> None:
        self.store = store
        self.authorize = authorize
        self._clock = clock or getattr(store, "now", None)

    def _now(self) -> datetime | None:
        return self._clock() if self._clock is not None else None

    async def list_open(self, *, binding: str | None = None) -> list[Conflict]:
        """Open conflicts (of a binding), oldest first."""
        return await self.store.conflicts.find(phase=ConflictPhase.OPEN, binding=binding)

    async def resolve(
        self,
        conflict_id: str,
        resolution: Resolution | str,
        *,
        by: str,
        values: Mapping[str, JsonValue] | None = None,
        note: str | None = None,
    ) -> tuple[Conflict, WriteIntent | None]:
        """Resolve the conflict; returns it and its linked intent as they now are.

        Raises :class:`InvalidInput` for a manual merge without values or for
        values naming fields the intent does not write, and
        :class:`~kradle_providers.sync.phases.InvalidTransition` when the
        conflict is no longer open.
        """
        res = Resolution(resolution)
        await check_approver(by, authorize=self.authorize)
        conflict = await self.store.conflicts.get(conflict_id)
        if conflict.phase not in (ConflictPhase.OPEN, ConflictPhase.RESOLVING):
            raise InvalidTransition(
                conflict.phase,
                ConflictPhase.RESOLVED,
                allowed_next(conflict.phase),
                reason=f"conflict {conflict.id} was already {conflict.phase.value.lower()}",
            )
        intent = await self._linked_intent(conflict)
        if res is Resolution.MANUAL_MERGE:
            self._check_merge_values(conflict, intent, values)
        at = self._now()
        start = conflict.phase
        resolving = conflict
        if conflict.phase is ConflictPhase.OPEN and res is not Resolution.IGNORE_WITH_WARNING:
            resolving = conflict.advance(ConflictPhase.RESOLVING, at=at, note=f"{res} by {by}")
            await self.store.conflicts.save(resolving, expected_phase=start)
            start = ConflictPhase.RESOLVING
        try:
            moved = await self._move_intent(intent, res, conflict, by, values, at)
        except Exception:
            if start is ConflictPhase.RESOLVING and resolving is not conflict:
                # A failed resolution reopens the conflict for another attempt.
                reopened = resolving.advance(ConflictPhase.OPEN, at=at, note="resolution failed")
                await self.store.conflicts.save(reopened, expected_phase=ConflictPhase.RESOLVING)
            raise
        done = resolving.resolve(res, by=by, values=dict(values or {}), at=at, note=note)
        saved = await self.store.conflicts.save(done, expected_phase=start)
        await self.store.audit.append(
            AuditEvent(
                actor=by,
                action="conflict.resolve",
                binding=saved.binding,
                interface=saved.key.interface,
                operation=intent.operation if intent else None,
                target=f"{saved.key.kind}/{saved.key.native_id}",
                outcome=AuditOutcome.SUCCEEDED,
                details={
                    "conflict_id": saved.id,
                    "reason": saved.reason.value,
                    "resolution": res.value,
                    "intent_id": intent.id if intent else None,
                    "intent_phase": moved.phase.value if moved else None,
                    "fields": [f.field for f in saved.fields],
                    "note": note,
                },
                **({"at": at} if at else {}),
            )
        )
        return saved, moved

    async def _linked_intent(self, conflict: Conflict) -> WriteIntent | None:
        if conflict.intent_id is None:
            return None
        return await self.store.intents.get(conflict.intent_id)

    @staticmethod
    def _check_merge_values(
        conflict: Conflict, intent: WriteIntent | None, values: Mapping[str, JsonValue] | None
    ) -> None:
        if not values:
            raise InvalidInput(
                "a manual merge needs the merged values; pass values={field: value} "
                f"for the conflicting field(s) {', '.join(f.field for f in conflict.fields)}",
                field="values",
            )
        if intent is not None and intent.operation.startswith("sync"):
            raise InvalidInput(
                f"{intent.operation} is declarative; resolve it by proposing a new desired set",
                field="values",
            )

    async def _move_intent(
        self,
        intent: WriteIntent | None,
        res: Resolution,
        conflict: Conflict,
        by: str,
        values: Mapping[str, JsonValue] | None,
        at: datetime | None,
    ) -> WriteIntent | None:
        if intent is None or intent.phase is not WriteIntentPhase.CONFLICT:
            return intent
        note = f"conflict {conflict.id} resolved ({res}) by {by}"
        expected = version_token(conflict.external_version) or intent.expected_version
        if res is Resolution.PREFER_EXTERNAL:
            new = intent.advance(WriteIntentPhase.REJECTED, at=at, note=note)
        elif res is Resolution.PREFER_LOCAL:
            new = intent.advance(
                WriteIntentPhase.READY_TO_SEND,
                at=at,
                note=note,
                expected_version=expected,
                base=None,
                last_error=None,
            )
        elif res is Resolution.MANUAL_MERGE:
            payload = dict(intent.payload)
            payload.update(values or {})
            new = intent.advance(
                WriteIntentPhase.READY_TO_SEND,
                at=at,
                note=note,
                payload=payload,
                expected_version=expected,
                base=None,
                last_error=None,
            )
        elif intent.response_digest:
            # The write reached the provider; its result is accepted as it stands.
            digest = content_digest([f.model_dump(mode="json") for f in conflict.fields])
            new = intent.advance(
                WriteIntentPhase.SUCCEEDED,
                at=at,
                note=note,
                confirmation=Confirmation(readback_digest=digest, **({"at": at} if at else {})),
            )
        else:
            new = intent.advance(WriteIntentPhase.REJECTED, at=at, note=note)
        return await self.store.intents.save(new, expected_phase=WriteIntentPhase.CONFLICT)
