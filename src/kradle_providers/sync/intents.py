"""Write intents: the queue every host/agent-originated write goes through (SPEC §7, §8).

:class:`WriteIntentService` is the whole lifecycle over a state store:

- :meth:`~WriteIntentService.propose` runs the authorization pipeline
  (:mod:`kradle_providers.sync.policy`), validates the payload against the
  operation's canonical input, captures the three-way *base* (the last synced
  values of the written fields, from the projection) and records the intent:
  ``PendingApproval`` for reviewed writes, ``ReadyToSend`` otherwise, or
  ``Rejected`` ("ownership forbids") for read-only and external-owned bindings.
  Nothing is sent to the provider.
- :meth:`~WriteIntentService.approve` / :meth:`~WriteIntentService.reject`
  are the explicit, audited operator actions on a pending write.
- :meth:`~WriteIntentService.send_ready` is the worker: it claims due
  ``ReadyToSend`` / ``Retrying`` intents through the store's send claims (a
  lease per intent, renewed while the request runs: two workers, or two
  replicas on one database, never send one intent, and a crashed sender's
  claim expires so another finishes it with the same key), re-reads the object
  and merges three-way when it can, calls the adapter with the intent's
  idempotency key, and moves the intent to ``AwaitingConfirmation`` (with the
  response digest and the provider's object key), ``Retrying`` (transient
  error or rate limit, with backoff on the injectable clock; the retry reuses
  the same key so it never duplicates), ``Conflict`` (precondition failed,
  both sides changed, lossy rich text, ownership forbids) or ``Failed``
  (anything else, redacted).
- :meth:`~WriteIntentService.confirm_from_event` (called by the reconciler for
  every sync event) and :meth:`~WriteIntentService.confirm_by_read_back` move
  confirmed writes to ``Succeeded``; :meth:`~WriteIntentService.expire_unconfirmed`
  turns writes unconfirmed past the policy's timeout into conflicts.

Every attempt appends an audit event with the SHA-256 digests of the request
and the response (secrets removed). A binding whose channel is paused keeps
accepting and approving intents but sends none until it resumes.

Payloads are the JSON of the operation's canonical input, the catalogue's
``args`` model (:data:`kradle_providers.protocols.catalogue.CATALOGUE`); the
object the write changes, or whose child it creates, is ``object_id``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, JsonValue, ValidationError

from kradle_providers.auth.secret import redact
from kradle_providers.errors import (
    InvalidInput,
    NotFound,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    TransientProviderError,
    UnsupportedOperation,
)
from kradle_providers.http.audit import canonical_request_digest, response_digest
from kradle_providers.manifest.model import Manifest
from kradle_providers.models import (
    CanonicalObject,
    ExternalRef,
    Interface,
    SyncResult,
    Version,
)
from kradle_providers.models.events import SyncEvent
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.catalogue import CATALOGUE, OPERATIONS, Call, Effect, Shape
from kradle_providers.store.claims import holder_id
from kradle_providers.store.errors import DuplicateRecord, PhaseMismatch
from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.conflicts import comparable_fields, detect, version_token
from kradle_providers.sync.phases import InvalidTransition, WriteIntentPhase, allowed_next
from kradle_providers.sync.policy import (
    Authorizer,
    ProviderGrant,
    WritePolicy,
    allow_all,
    check_approver,
    check_write,
    ownership_forbids,
)
from kradle_providers.sync.records import (
    AuditEvent,
    AuditOutcome,
    Confirmation,
    Conflict,
    ConflictReason,
    FieldConflict,
    ObjectKey,
    WriteIntent,
    content_digest,
    redact_json,
)

if TYPE_CHECKING:
    from kradle_providers.sync.runtime import BoundBinding

__all__ = [
    "CLAIM_BATCH",
    "ChannelResolver",
    "WriteChannel",
    "WriteIntentService",
    "channels_for",
    "request_digest_of",
    "response_digest_of",
]

_W = WriteIntentPhase

CLAIM_BATCH = 50
"""How many intents one :meth:`WriteIntentService.send_ready` pass claims at most."""


# --------------------------------------------------------------------------- channels


@dataclass(frozen=True)
class WriteChannel:
    """Where one (binding, interface)'s writes go: the adapter, its manifest, the mode.

    ``paused`` (a flag, or a callable read at send time) holds sends without
    losing intents; ``grant`` is what the provider credential is known to carry.
    """

    binding: str
    interface: Interface
    adapter: ProviderAdapter
    manifest: Manifest
    mode: BindingMode
    target: ExternalRef
    paused: bool | Callable[[], bool] = False
    grant: ProviderGrant | None = None

    def is_paused(self) -> bool:
        """Whether sends are held now."""
        return bool(self.paused()) if callable(self.paused) else bool(self.paused)


ChannelResolver = Callable[[str, Interface], WriteChannel]
"""``resolve(binding_name, interface) -> WriteChannel``; raises NotFound when unbound."""


def channels_for(
    bound: BoundBinding, *, paused: bool | Callable[[], bool] = False
) -> list[WriteChannel]:
    """One write channel per interface of an opened :class:`BoundBinding`."""
    out: list[WriteChannel] = []
    for iface in bound.binding.interfaces:
        spec = bound.binding.interface(iface)
        adapter = bound.adapter_for(iface)
        out.append(
            WriteChannel(
                binding=bound.name,
                interface=iface,
                adapter=adapter,
                manifest=adapter.manifest,
                mode=spec.mode,
                target=spec.external_ref,
                paused=paused,
            )
        )
    return out


def _resolver(
    channels: Iterable[WriteChannel]
    | Mapping[tuple[str, Interface], WriteChannel]
    | ChannelResolver,
) -> ChannelResolver:
    if callable(channels) and not isinstance(channels, Mapping):
        return channels
    table: dict[tuple[str, Interface], WriteChannel]
    if isinstance(channels, Mapping):
        table = dict(channels)
    else:
        table = {(c.binding, c.interface): c for c in channels}

    def resolve(binding: str, interface: Interface) -> WriteChannel:
        try:
            return table[(binding, interface)]
        except KeyError:
            known = ", ".join(f"{b}/{i.value}" for b, i in sorted(table)) or "none"
            raise NotFound(
                f"binding {binding!r} has no {interface.value} channel (known: {known}); "
                "open the binding and pass its channels to the WriteIntentService"
            ) from None

    return resolve


# --------------------------------------------------------------------------- operations


# Fields of a payload that are arguments, not values the written object shows.
_NOT_COMPARED = {"milestone", "state_reason", "base", "head", "draft", "issue_type"}


def _parse(operation: str, payload: Mapping[str, Any], object_id: str | None) -> BaseModel:
    op = OPERATIONS.get(operation)
    model = op.args if op is not None and not op.not_queueable else None
    if op is None or model is None:
        raise InvalidInput(f"{operation} cannot be queued as a write intent", field="operation")
    if op.needs_id and not object_id:
        raise InvalidInput(
            f"{operation} changes an existing object; pass object_id (its number, key or id)",
            field="object_id",
        )
    unknown = set(payload) - set(model.model_fields)
    if unknown:
        raise InvalidInput(
            f"{operation} does not take {sorted(unknown)}; its fields are "
            f"{sorted(model.model_fields)}",
            field="payload",
        )
    try:
        return model.model_validate(dict(payload))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise InvalidInput(
            f"invalid {operation} payload: {first['msg']}", field=f"payload.{where}"
        ) from None


def _written_fields(intent: WriteIntent) -> dict[str, JsonValue]:
    """The comparable values the intent writes (what confirmation checks)."""
    op = OPERATIONS[intent.operation]
    if op.sets:
        return dict(op.sets)
    if not op.echoes:
        return {}
    names = [k for k, v in intent.payload.items() if k not in _NOT_COMPARED and v is not None]
    return comparable_fields(intent.payload, names)


async def _invoke(
    adapter: ProviderAdapter, intent: WriteIntent, payload: BaseModel, expected: str | None
) -> Any:
    """Call the adapter operation of ``intent`` through the catalogue."""
    call = Call(
        intent.target,
        id=intent.object_id,
        payload=payload,
        idempotency_key=intent.idempotency_key,
        expected_version=expected,
    )
    return await OPERATIONS[intent.operation].invoke(adapter, call)


async def _read_back(
    adapter: ProviderAdapter, manifest: Manifest, intent: WriteIntent
) -> CanonicalObject | None:
    """The object the intent wrote, re-read with a ``get_*`` operation (None: no way to)."""
    kind = intent.object_key.kind if intent.object_key else OPERATIONS[intent.operation].kind
    oid = intent.object_id
    if oid is None:
        return None
    getter = next(
        (
            op
            for op in CATALOGUE
            if op.effect is Effect.READ and op.shape is Shape.ONE and op.target == kind
        ),
        None,
    )
    if getter is None or not manifest.supports(getter.name):
        return None
    result: CanonicalObject = await getter.invoke(adapter, Call(intent.target, id=oid))
    return result


def request_digest_of(intent: WriteIntent, adapter: ProviderAdapter, expected: str | None) -> str:
    """SHA-256 of the canonical request of one send (secrets removed; see http.audit)."""
    url = (
        f"kradle://{adapter.provider_type}/{adapter.instance}/{intent.interface.value}/"
        f"{intent.operation}?target={intent.target.slug()}&object={intent.object_id or ''}"
    )
    headers = [("idempotency-key", intent.idempotency_key)]
    if expected:
        headers.append(("if-match", expected))
    body = json.dumps(redact_json(intent.payload), sort_keys=True, separators=(",", ":"))
    return canonical_request_digest("POST", url, headers, body.encode())


def response_digest_of(result: Any = None, *, error: BaseException | None = None) -> str:
    """SHA-256 of the provider's answer: the canonical result, or the (redacted) error."""
    if error is not None:
        status = error.status if isinstance(error, ProviderError) and error.status else 0
        return response_digest(status, redact(f"{type(error).__name__}: {error}").encode())
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    body = json.dumps(redact_json(data), sort_keys=True, separators=(",", ":"), default=str)
    return response_digest(200, body.encode())


def _lossy_warnings(result: Any) -> list[str]:
    body = getattr(result, "body", None)
    warnings = getattr(body, "warnings", None)
    return [str(w) for w in warnings] if warnings else []


def _version_of(error: PreconditionFailed) -> Version | None:
    current = error.current_version
    if isinstance(current, Version):
        return current
    if isinstance(current, str):
        return Version(etag=current)
    return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- service


class WriteIntentService:
    """The write-intent queue and sender over a :class:`StateStore` (see the module docstring).

    ``channels`` tells where each (binding, interface) writes: a list of
    :class:`WriteChannel`, a mapping, or a resolver callable. ``authorize`` is
    the host's permission check; ``clock`` drives timestamps, backoff and
    timeouts (default: the store's clock); ``worker`` names this sender's
    claims in the store (default: :func:`~kradle_providers.store.claims.holder_id`).
    """

    def __init__(
        self,
        store: StateStore,
        channels: Iterable[WriteChannel]
        | Mapping[tuple[str, Interface], WriteChannel]
        | ChannelResolver = (),
        *,
        authorize: Authorizer = allow_all,
        policy: WritePolicy | None = None,
        clock: Callable[[], datetime] | None = None,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.worker = worker or holder_id()
        self.channel = _resolver(channels)
        self.authorize = authorize
        self.policy = policy or WritePolicy()
        store_clock = getattr(store, "now", None)
        self.clock: Callable[[], datetime] = clock or store_clock or _utcnow

    # ------------------------------------------------------------------ audit helpers

    async def _audit(
        self,
        intent: WriteIntent | None,
        action: str,
        outcome: AuditOutcome,
        *,
        actor: str | None = None,
        request: str | None = None,
        response: str | None = None,
        **details: JsonValue,
    ) -> None:
        fields: dict[str, Any] = {}
        if intent is not None:
            fields = {
                "binding": intent.binding,
                "interface": intent.interface,
                "operation": intent.operation,
                "target": f"{intent.target.slug()}#{intent.object_id or ''}",
            }
            details = {"intent_id": intent.id, "phase": intent.phase.value, **details}
        await self.store.audit.append(
            AuditEvent(
                at=self.clock(),
                actor=actor or (intent.actor if intent else "system"),
                action=action,
                outcome=outcome,
                request_digest=request,
                response_digest=response,
                details=details,
                **fields,
            )
        )

    async def _save(self, new: WriteIntent, expected: WriteIntentPhase) -> WriteIntent:
        return await self.store.intents.save(new, expected_phase=expected)

    def _key(self, channel: WriteChannel, intent: WriteIntent) -> ObjectKey:
        if intent.object_key is not None:
            return intent.object_key
        return ObjectKey(
            provider_type=channel.manifest.provider_type,
            instance=channel.adapter.instance,
            interface=intent.interface,
            kind=OPERATIONS[intent.operation].kind,
            native_id=intent.object_id or f"intent-{intent.id}",
        )

    async def _raise_conflict(
        self,
        intent: WriteIntent,
        channel: WriteChannel,
        reason: ConflictReason,
        message: str,
        *,
        fields: list[FieldConflict] | None = None,
        external_version: Version | None = None,
        **changes: Any,
    ) -> WriteIntent:
        now = self.clock()
        conflict = Conflict.new(
            at=now,
            binding=intent.binding,
            key=self._key(channel, intent),
            reason=reason,
            fields=fields or [],
            intent_id=intent.id,
            message=message,
            external_version=external_version,
        )
        await self.store.conflicts.create(conflict)
        moved = intent.advance(
            _W.CONFLICT,
            at=now,
            note=f"{reason.value}: {message}",
            conflict_id=conflict.id,
            **changes,
        )
        saved = await self._save(moved, intent.phase)
        await self._audit(
            saved,
            "write.conflict",
            AuditOutcome.FAILED,
            request=saved.request_digest,
            response=saved.response_digest,
            conflict_id=conflict.id,
            reason=reason.value,
            fields=[f.field for f in conflict.fields],
        )
        return saved

    # ------------------------------------------------------------------ proposing

    async def propose(
        self,
        binding: str | WriteChannel,
        interface: Interface | str,
        operation: str,
        target: ExternalRef | None = None,
        payload: Mapping[str, JsonValue] | BaseModel | None = None,
        actor: str = "",
        idempotency_key: str | None = None,
        *,
        object_id: str | None = None,
        expected_version: str | None = None,
        base: Mapping[str, JsonValue] | None = None,
    ) -> WriteIntent:
        """Record a write the host or an agent asks for; never calls the provider.

        Runs the policy pipeline (raising :class:`UnsupportedOperation`,
        :class:`PermissionDenied` or :class:`InvalidInput`, each audited as
        denied), validates ``payload`` for ``operation``, captures the base for
        three-way detection (``base`` or the projection of ``object_id``) and
        stores the intent. With an ``idempotency_key`` already used, the
        existing intent is returned (a retried request is not a second write);
        without one, a fresh ``uuid4`` key is generated and kept.
        """
        iface = Interface(interface)
        channel = binding if isinstance(binding, WriteChannel) else self.channel(binding, iface)
        if channel.interface is not iface:
            raise InvalidInput(
                f"the channel serves {channel.interface.value}, not {iface.value}",
                field="interface",
            )
        data: dict[str, Any] = (
            payload.model_dump(mode="json", exclude_none=True)
            if isinstance(payload, BaseModel)
            else dict(payload or {})
        )
        if idempotency_key:
            existing = await self.store.intents.find_by_idempotency_key(idempotency_key)
            if existing is not None:
                if (existing.binding, existing.operation) != (channel.binding, operation):
                    raise InvalidInput(
                        f"idempotency key {idempotency_key!r} was used for {existing.operation} "
                        f"on {existing.binding}; use a new key for a different write",
                        field="idempotency_key",
                    )
                return existing
        try:
            decision = await check_write(
                manifest=channel.manifest,
                interface=iface,
                operation=operation,
                mode=channel.mode,
                actor=actor,
                authorize=self.authorize,
                grant=channel.grant,
                policy=self.policy,
            )
            _parse(operation, data, object_id)
        except (UnsupportedOperation, ProviderError, InvalidInput) as exc:
            await self._audit(
                None,
                "write.propose",
                AuditOutcome.DENIED,
                actor=actor or "unknown",
                operation=operation,
                binding=channel.binding,
                error=redact(str(exc)),
            )
            raise
        ref = target or channel.target
        if base is None and object_id is not None:
            base, version = await self._base_from_projection(channel, operation, object_id, data)
            if expected_version is None and OPERATIONS[operation].conditional:
                expected_version = version
        now = self.clock()
        intent = WriteIntent.new(
            at=now,
            binding=channel.binding,
            interface=iface,
            operation=operation,
            target=ref,
            object_id=object_id,
            payload=data,
            idempotency_key=idempotency_key or f"kradle-{uuid.uuid4()}",
            actor=actor,
            expected_version=expected_version,
            base=dict(base) if base is not None else None,
        )
        if decision.phase is _W.READY_TO_SEND:
            intent = intent.advance(
                _W.READY_TO_SEND, at=now, explicit=True, note="no approval needed"
            )
        elif decision.phase is _W.REJECTED:
            intent = intent.reject("policy", at=now, reason=decision.reason)
        try:
            stored = await self.store.intents.create(intent)
        except DuplicateRecord:
            again = await self.store.intents.find_by_idempotency_key(intent.idempotency_key)
            if again is None:
                raise
            return again
        outcome = AuditOutcome.DENIED if decision.phase is _W.REJECTED else AuditOutcome.PENDING
        await self._audit(stored, "write.propose", outcome, reason=decision.reason)
        return stored

    async def _base_from_projection(
        self, channel: WriteChannel, operation: str, object_id: str, payload: Mapping[str, Any]
    ) -> tuple[dict[str, JsonValue] | None, str | None]:
        op = OPERATIONS[operation]
        if op.target is None:
            return None, None  # a create (or a child's create) has no base
        kind = op.kind
        key = ObjectKey(
            provider_type=channel.manifest.provider_type,
            instance=channel.adapter.instance,
            interface=channel.interface,
            kind=kind,
            native_id=object_id,
        )
        found = await self.store.projections.get(channel.binding, key)
        if found is None:
            # Ids in the API are often the human number; the projection is keyed by native id.
            async for proj in self.store.projections.iter_projections(
                binding=channel.binding, interface=channel.interface, kind=kind
            ):
                external = (proj.object or {}).get("external")
                if isinstance(external, dict) and str(external.get("native_number")) == object_id:
                    found = proj
                    break
        if found is None or found.tombstoned or found.object is None:
            return None, None
        names = [k for k in payload if k not in _NOT_COMPARED]
        return comparable_fields(found.object, names), version_token(found.version)

    # ------------------------------------------------------------------ review

    async def approve(
        self, intent_id: str, approver: str, *, note: str | None = None
    ) -> WriteIntent:
        """Approve a pending write (explicit, audited): ``PendingApproval -> ReadyToSend``."""
        await check_approver(approver, authorize=self.authorize)
        intent = await self.store.intents.get(intent_id)
        approved = intent.approve(approver, at=self.clock(), note=note)
        saved = await self._save(approved, intent.phase)
        await self._audit(saved, "write.approve", AuditOutcome.SUCCEEDED, actor=approver)
        return saved

    async def reject(self, intent_id: str, by: str, *, reason: str | None = None) -> WriteIntent:
        """Reject a write that has not been sent (audited): ``Rejected``, never sent."""
        await check_approver(by, authorize=self.authorize)
        intent = await self.store.intents.get(intent_id)
        rejected = intent.reject(by, at=self.clock(), reason=reason)
        saved = await self._save(rejected, intent.phase)
        await self._audit(saved, "write.reject", AuditOutcome.DENIED, actor=by, reason=reason)
        return saved

    async def retry(self, intent_id: str, by: str) -> WriteIntent:
        """Re-queue a ``Failed`` write (an explicit operator action, audited)."""
        await check_approver(by, authorize=self.authorize)
        intent = await self.store.intents.get(intent_id)
        if intent.phase is not _W.FAILED:
            # The same explicit move from PendingApproval is approval, not a retry.
            raise InvalidTransition(
                intent.phase,
                _W.READY_TO_SEND,
                allowed_next(intent.phase),
                reason="only a Failed write can be retried; approve a pending one instead",
            )
        moved = intent.advance(
            _W.READY_TO_SEND, at=self.clock(), explicit=True, note=f"retried by {by}"
        )
        saved = await self._save(moved, intent.phase)
        await self._audit(saved, "write.retry", AuditOutcome.PENDING, actor=by)
        return saved

    # ------------------------------------------------------------------ sending

    def _due(self, intent: WriteIntent, now: datetime) -> bool:
        """Whether a claimed intent should be sent now (a claimed ``Sending`` one was abandoned)."""
        if intent.phase is _W.RETRYING:
            return intent.next_attempt_at is None or intent.next_attempt_at <= now
        return intent.phase in (_W.READY_TO_SEND, _W.SENDING)

    @asynccontextmanager
    async def _claims(self, binding: str | None, limit: int) -> AsyncIterator[list[WriteIntent]]:
        """Claim up to ``limit`` sendable intents for this worker; release them all on exit.

        The store hands each intent to one worker at a time (replicas included),
        so no two workers send one intent; a worker that dies stops renewing and
        its claims expire for another to finish.
        """
        lease = self.policy.sending_lease
        claimed = await self.store.intents.claim(
            self.worker, lease=lease, binding=binding, limit=limit
        )
        try:
            yield claimed
        finally:
            for intent in claimed:
                await self.store.intents.release(intent.id, self.worker)

    async def send_ready(
        self, *, binding: str | None = None, limit: int | None = None
    ) -> list[WriteIntent]:
        """Send every due intent (ready, retry due, or abandoned mid-send); returns them as moved.

        Intents are claimed from the store first (one pass of at most
        ``limit``, default :data:`CLAIM_BATCH`). Intents of paused channels stay
        where they are; an intent another worker holds is not seen.
        """
        done: list[WriteIntent] = []
        async with self._claims(binding, limit or CLAIM_BATCH) as claimed:
            now = self.clock()
            for intent in claimed:
                if self._due(intent, now):
                    moved = await self._send_one(intent)
                    if moved is not None:
                        done.append(moved)
        return done

    async def send(self, intent_id: str) -> WriteIntent:
        """Send one intent now if it is due and no other worker holds it; returns it as it ends."""
        intent = await self.store.intents.get(intent_id)
        async with self._claims(intent.binding, CLAIM_BATCH) as claimed:
            mine = next((i for i in claimed if i.id == intent_id), None)
            if mine is not None and self._due(mine, self.clock()):
                moved = await self._send_one(mine)
                if moved is not None:
                    return moved
        return await self.store.intents.get(intent_id)

    async def _send_one(self, intent: WriteIntent) -> WriteIntent | None:
        """Send a claimed intent (the caller holds its claim)."""
        channel = self.channel(intent.binding, intent.interface)
        if channel.is_paused():
            return None
        forbidden = ownership_forbids(channel.mode)
        if forbidden is not None and intent.phase is not _W.SENDING:
            try:
                return await self._raise_conflict(
                    intent, channel, ConflictReason.OWNERSHIP_FORBIDS, forbidden
                )
            except PhaseMismatch:
                return None
        claimed = intent
        if intent.phase is _W.SENDING:
            # The claimer died mid-send: retry with the same key (the adapter's
            # idempotency makes a request that did arrive not duplicate).
            retry = intent.advance(_W.RETRYING, at=self.clock(), note="sending lease expired")
            try:
                claimed = await self._save(retry, _W.SENDING)
            except PhaseMismatch:
                return None
        try:
            sending = claimed.advance(_W.SENDING, at=self.clock(), next_attempt_at=None)
            claimed = await self._save(sending, claimed.phase)
        except PhaseMismatch:
            return None  # moved by an operator (reject, approve) since the claim
        async with self._heartbeat(claimed.id) as lost:
            if lost.is_set():
                return None  # the claim expired before the request left: its new holder sends
            return await self._attempt(claimed, channel)

    @asynccontextmanager
    async def _heartbeat(self, intent_id: str) -> AsyncIterator[asyncio.Event]:
        """Renew this worker's claim while a send runs; the event is set once it was lost."""
        lease = self.policy.sending_lease
        lost = asyncio.Event()
        if not await self.store.intents.renew(intent_id, self.worker, lease=lease):
            lost.set()

        async def beat() -> None:
            while not lost.is_set():
                await asyncio.sleep(max(lease.total_seconds() / 3, 0.05))
                if not await self.store.intents.renew(intent_id, self.worker, lease=lease):
                    lost.set()

        task = asyncio.create_task(beat())
        try:
            yield lost
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _attempt(self, intent: WriteIntent, channel: WriteChannel) -> WriteIntent:
        payload = _parse(intent.operation, intent.payload, intent.object_id)
        expected = intent.expected_version
        # Three-way merge against the provider's current state before an update.
        if intent.base is not None and OPERATIONS[intent.operation].conditional:
            try:
                current = await _read_back(channel.adapter, channel.manifest, intent)
            except (TransientProviderError, RateLimited) as exc:
                return await self._after_error(intent, channel, exc, None)
            if current is not None:
                merged = await self._merge(intent, channel, current)
                if merged is None or merged.phase is _W.CONFLICT:
                    return merged or intent
                intent = merged
                payload = _parse(intent.operation, intent.payload, intent.object_id)
                expected = intent.expected_version
        request = request_digest_of(intent, channel.adapter, expected)
        try:
            result = await _invoke(channel.adapter, intent, payload, expected)
        except Exception as exc:  # every failure is recorded; nothing is left in Sending
            return await self._after_error(intent, channel, exc, request)
        return await self._after_success(intent, channel, result, request)

    async def _merge(
        self, intent: WriteIntent, channel: WriteChannel, current: CanonicalObject
    ) -> WriteIntent | None:
        base = intent.base or {}
        names = [k for k in intent.payload if k not in _NOT_COMPARED]
        local = comparable_fields(intent.payload, names)
        external_json = current.model_dump(mode="json")
        external = comparable_fields(external_json, names)
        three = detect({k: base.get(k) for k in names}, local, external)
        version = current.external.version
        if three.conflicts:
            return await self._raise_conflict(
                intent,
                channel,
                ConflictReason.BOTH_CHANGED,
                "the field(s) "
                + ", ".join(f.field for f in three.conflicts)
                + " changed both here and on the provider since the last sync",
                fields=three.conflicts,
                external_version=version,
            )
        # Keep the provider's value where only the provider changed it.
        keep = {
            k: v
            for k, v in intent.payload.items()
            if k in _NOT_COMPARED or k in three.local_changes
        }
        if keep == intent.payload and intent.expected_version == version_token(version):
            return intent
        updated = intent.model_copy(
            update={"payload": keep, "expected_version": version_token(version)}
        )
        return await self._save(updated, intent.phase)

    async def _after_error(
        self, intent: WriteIntent, channel: WriteChannel, exc: BaseException, request: str | None
    ) -> WriteIntent:
        now = self.clock()
        answer = response_digest_of(error=exc) if request else None
        error = redact(f"{type(exc).__name__}: {exc}")
        await self._audit(
            intent,
            "write.send",
            AuditOutcome.FAILED,
            request=request,
            response=answer,
            attempt=intent.attempts,
            error=error,
        )
        if isinstance(exc, PreconditionFailed):
            external_version = _version_of(exc)
            fields = await self._field_report(intent, channel)
            return await self._raise_conflict(
                intent,
                channel,
                ConflictReason.PRECONDITION_FAILED,
                f"the provider refused the conditional write: {error}",
                fields=fields,
                external_version=external_version,
                request_digest=request,
                last_error=error,
            )
        if isinstance(exc, TransientProviderError | RateLimited):
            if intent.attempts >= self.policy.max_attempts:
                return await self._save(
                    intent.advance(
                        _W.FAILED,
                        at=now,
                        note=f"gave up after {intent.attempts} attempts",
                        last_error=error,
                        request_digest=request,
                    ),
                    _W.SENDING,
                )
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            wait = self.policy.backoff(intent.attempts, retry_after)
            return await self._save(
                intent.advance(
                    _W.RETRYING,
                    at=now,
                    note=f"retry in {wait.total_seconds():g}s",
                    last_error=error,
                    next_attempt_at=now + wait,
                    request_digest=request,
                ),
                _W.SENDING,
            )
        return await self._save(
            intent.advance(_W.FAILED, at=now, last_error=error, request_digest=request),
            _W.SENDING,
        )

    async def _field_report(
        self, intent: WriteIntent, channel: WriteChannel
    ) -> list[FieldConflict]:
        names = [k for k in intent.payload if k not in _NOT_COMPARED]
        local = comparable_fields(intent.payload, names)
        base = intent.base or {}
        external: dict[str, JsonValue] = {}
        try:
            current = await _read_back(channel.adapter, channel.manifest, intent)
        except Exception:  # best effort: the conflict is recorded either way
            current = None
        if current is not None:
            external = comparable_fields(current.model_dump(mode="json"), names)
        return [
            FieldConflict(field=n, base=base.get(n), local=local.get(n), external=external.get(n))
            for n in names
        ]

    async def _after_success(
        self, intent: WriteIntent, channel: WriteChannel, result: Any, request: str
    ) -> WriteIntent:
        now = self.clock()
        answer = response_digest_of(result)
        changes: dict[str, Any] = {
            "request_digest": request,
            "response_digest": answer,
            "last_error": None,
        }
        if isinstance(result, CanonicalObject):
            env = result.external
            changes["object_key"] = ObjectKey.of(result)
            changes["written_version"] = env.version
            # A create's object is the new one; a child (comment) keeps its parent's id.
            op = OPERATIONS[intent.operation]
            if op.effect is Effect.CREATE and op.parent is None:
                changes["object_id"] = env.native_number or env.native_id
        await self._audit(
            intent,
            "write.send",
            AuditOutcome.SUCCEEDED,
            request=request,
            response=answer,
            attempt=intent.attempts,
        )
        warnings = _lossy_warnings(result)
        if warnings and not self.policy.allow_lossy:
            body = intent.payload.get("body")
            external_body = getattr(getattr(result, "body", None), "markdown", None)
            return await self._raise_conflict(
                intent,
                channel,
                ConflictReason.LOSSY_REPRESENTATION,
                "the provider could not hold the body losslessly: " + "; ".join(warnings),
                fields=[FieldConflict(field="body", local=body, external=external_body)],
                **changes,
            )
        if isinstance(result, SyncResult) or not isinstance(result, CanonicalObject):
            # A declarative sync's plan is its own confirmation.
            moved = intent.advance(_W.SUCCEEDED, at=now, note="applied", **changes)
        else:
            moved = intent.advance(_W.AWAITING_CONFIRMATION, at=now, **changes)
        return await self._save(moved, _W.SENDING)

    # ------------------------------------------------------------------ confirmation

    async def _confirm(
        self, intent: WriteIntent, confirmation: Confirmation, how: str
    ) -> WriteIntent | None:
        moved = intent.advance(_W.SUCCEEDED, at=self.clock(), note=how, confirmation=confirmation)
        try:
            saved = await self._save(moved, _W.AWAITING_CONFIRMATION)
        except PhaseMismatch:
            return None
        await self._audit(
            saved,
            "write.confirm",
            AuditOutcome.SUCCEEDED,
            actor="system",
            request=saved.request_digest,
            response=confirmation.readback_digest,
            how=how,
            delivery_id=confirmation.delivery_id,
        )
        return saved

    @staticmethod
    def _matches(intent: WriteIntent, observed: Mapping[str, Any], version: Version) -> bool:
        wanted = _written_fields(intent)
        if wanted:
            return comparable_fields(observed, list(wanted)) == wanted
        written = intent.written_version
        return written is None or version.sort_key() >= written.sort_key()

    async def confirm_from_event(self, event: SyncEvent) -> list[WriteIntent]:
        """Confirm the awaiting writes this sync event shows applied; returns them.

        An intent matches by the provider's object key (provider, instance,
        interface, kind, native id) or by its idempotency key appearing in the
        event's object; it is confirmed when the event's object shows the
        written values (or, for writes without comparable values, a version at
        least as new as the one the write produced).
        """
        if event.object is None:
            return []
        awaiting = await self.store.intents.find(phase=_W.AWAITING_CONFIRMATION)
        if not awaiting:  # the usual case: no dump of the object for nothing
            return []
        observed = event.object.model_dump(mode="json")
        marker = json.dumps(observed.get("external", {}).get("extensions", {}))
        confirmed: list[WriteIntent] = []
        for intent in awaiting:
            key = intent.object_key
            same = key is not None and (
                key.provider_type,
                key.instance,
                key.interface,
                key.kind,
                key.native_id,
            ) == (
                event.provider.type,
                event.provider.instance,
                event.interface,
                event.object_kind,
                event.native_id,
            )
            if not same and intent.idempotency_key not in marker:
                continue
            version = (
                event.version
                if event.version.sort_key() > Version().sort_key()
                else (event.object.external.version)
            )
            if not self._matches(intent, observed, version):
                continue
            confirmation = Confirmation(
                delivery_id=event.delivery_id,
                readback_digest=content_digest(redact_json(observed)),
                at=self.clock(),
            )
            done = await self._confirm(intent, confirmation, "confirmed by webhook")
            if done is not None:
                confirmed.append(done)
        return confirmed

    async def confirm_by_read_back(self, *, binding: str | None = None) -> list[WriteIntent]:
        """Re-read each awaiting write's object and confirm those that show the written values.

        Also expires writes unconfirmed past the timeout (see
        :meth:`expire_unconfirmed`). Paused channels are not read.
        """
        confirmed: list[WriteIntent] = []
        for intent in await self.store.intents.find(
            phase=_W.AWAITING_CONFIRMATION, binding=binding
        ):
            channel = self.channel(intent.binding, intent.interface)
            if channel.is_paused():
                continue
            try:
                current = await _read_back(channel.adapter, channel.manifest, intent)
            except (TransientProviderError, RateLimited, NotFound):
                continue
            if current is None:
                continue
            observed = current.model_dump(mode="json")
            if not self._matches(intent, observed, current.external.version):
                continue
            confirmation = Confirmation(
                readback_digest=content_digest(redact_json(observed)), at=self.clock()
            )
            done = await self._confirm(intent, confirmation, "confirmed by read-back")
            if done is not None:
                confirmed.append(done)
        await self.expire_unconfirmed(binding=binding)
        return confirmed

    async def expire_unconfirmed(self, *, binding: str | None = None) -> list[WriteIntent]:
        """Turn writes awaiting confirmation longer than the timeout into conflicts."""
        now = self.clock()
        expired: list[WriteIntent] = []
        for intent in await self.store.intents.find(
            phase=_W.AWAITING_CONFIRMATION, binding=binding
        ):
            if intent.updated_at + self.policy.confirmation_timeout > now:
                continue
            channel = self.channel(intent.binding, intent.interface)
            wanted = _written_fields(intent)
            fields = [
                FieldConflict(field=k, base=(intent.base or {}).get(k), local=v)
                for k, v in wanted.items()
            ]
            try:
                expired.append(
                    await self._raise_conflict(
                        intent,
                        channel,
                        ConflictReason.UNCONFIRMED_WRITE,
                        "the write was sent but neither a webhook nor a read-back confirmed it "
                        f"within {self.policy.confirmation_timeout}",
                        fields=fields,
                    )
                )
            except PhaseMismatch:
                continue
        return expired
