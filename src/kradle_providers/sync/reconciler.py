"""The reconciler: applies webhook events and backfill pages to the projections, idempotently.

Whatever order states arrive in (webhook replays, duplicates, out-of-order
deliveries, backfill pages listed while webhooks flow), the projection of each
object converges to its newest state: ordering is the store's projection rule
(:mod:`kradle_providers.store.ordering`, by the provider's version fields), so
the reconciler never compares versions itself. A ``deleted`` event becomes a
tombstone, ordered like any other state.

Use it as the :class:`~kradle_providers.webhooks.receiver.WebhookReceiver`'s
``handle`` callback (the receiver records deliveries through their phases and
dedupes by delivery id + action + native id before calling it), or feed
events directly with :meth:`Reconciler.ingest` (which dedupes itself through
the store's dedupe marks).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kradle_providers.metrics import NO_METRICS, Metrics
from kradle_providers.models.base import CanonicalObject, ExternalRef, Interface
from kradle_providers.models.events import ChangeAction, SyncEvent
from kradle_providers.store.ordering import ApplyOutcome
from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.records import (
    Deletion,
    ObjectKey,
    ProjectionSource,
    SyncState,
)
from kradle_providers.sync.scope import outside_reason
from kradle_providers.webhooks.dedupe import event_dedupe_key

if TYPE_CHECKING:
    from kradle_providers.sync.runtime import BoundBinding

__all__ = ["EventOutcome", "Reconciler"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventOutcome:
    """What applying one event did (``skipped`` says why it was not applied)."""

    event: SyncEvent
    outcome: ApplyOutcome | None = None
    skipped: str | None = None


@dataclass
class _Tally:
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, key: str) -> None:
        self.outcomes[key] = self.outcomes.get(key, 0) + 1


class Reconciler:
    """Applies canonical sync events (and backfill pages) of one binding to a store.

    ``routes`` maps ``(provider type, instance)`` to the interfaces that
    instance serves in the binding (:meth:`BoundBinding.routes`); events from
    other instances or interfaces are skipped, so one receiver can serve
    several bindings. ``None`` accepts every event.

    ``scope`` maps each interface to the binding's external target
    (:meth:`BoundBinding.scopes`); an event whose ``target`` lies outside it
    (another repository, organization or project) is skipped, never projected
    (:mod:`kradle_providers.sync.scope`).

    ``confirm`` is awaited with every event that changed a projection; pass
    :meth:`WriteIntentService.confirm_from_event
    <kradle_providers.sync.intents.WriteIntentService.confirm_from_event>` so
    that webhooks confirm the writes awaiting them.
    """

    def __init__(
        self,
        store: StateStore,
        binding: str,
        *,
        routes: Mapping[tuple[str, str], set[Interface]] | None = None,
        confirm: Callable[[SyncEvent], Awaitable[object]] | None = None,
        scope: Mapping[Interface, ExternalRef] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.binding = binding
        self.routes = routes
        self.confirm = confirm
        self.scope = scope
        self.metrics = metrics
        self.tally = _Tally()

    @classmethod
    def for_binding(
        cls,
        store: StateStore,
        bound: BoundBinding,
        *,
        confirm: Callable[[SyncEvent], Awaitable[object]] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> Reconciler:
        """A reconciler with ``bound``'s routes and target scope (what a host wants)."""
        return cls(
            store,
            bound.name,
            routes=bound.routes(),
            scope=bound.scopes(),
            confirm=confirm,
            metrics=metrics,
        )

    def accepts(self, event: SyncEvent) -> bool:
        """Whether ``event`` belongs to this binding (its instance serves its interface)."""
        return self._refusal(event) is None

    def _refusal(self, event: SyncEvent) -> str | None:
        if self.routes is not None:
            served = self.routes.get((event.provider.type, event.provider.instance))
            if served is None or event.interface not in served:
                return "not routed to this binding"
        target = self.scope.get(event.interface) if self.scope is not None else None
        if target is not None:
            return outside_reason(event.target, target)
        return None

    @staticmethod
    def key_of(event: SyncEvent) -> ObjectKey:
        """The projection key of the object an event is about."""
        return ObjectKey(
            provider_type=event.provider.type,
            instance=event.provider.instance,
            interface=event.interface,
            kind=event.object_kind,
            native_id=event.native_id,
        )

    async def apply_event(self, event: SyncEvent) -> EventOutcome:
        """Apply one event: a state upsert, or a tombstone for a deletion."""
        refusal = self._refusal(event)
        if refusal is not None:
            return self._skip(event, refusal)
        if event.action == ChangeAction.DELETED:
            version = event.version
            if version.sort_key() == type(version)().sort_key() and event.object is not None:
                version = event.object.external.version
            outcome = await self.store.projections.tombstone(
                self.binding,
                self.key_of(event),
                version=version,
                at=event.occurred_at,
                source=ProjectionSource.WEBHOOK,
                delivery_id=event.delivery_id,
            )
        elif event.object is not None:
            outcome = await self.store.projections.apply_object(
                self.binding,
                event.object,
                source=ProjectionSource.WEBHOOK,
                delivery_id=event.delivery_id,
            )
        else:
            # An event without the object's state: the next backfill brings it.
            return self._skip(event, "the event carries no object state")
        self.tally.add(outcome.value)
        self._observe(event, outcome.value, logging.DEBUG, "applied")
        if self.confirm is not None and outcome not in (ApplyOutcome.STALE, ApplyOutcome.UNCHANGED):
            await self.confirm(event)
        return EventOutcome(event, outcome)

    def _skip(self, event: SyncEvent, why: str) -> EventOutcome:
        self.tally.add("skipped")
        self._observe(event, "skipped", logging.INFO, f"skipped: {why}")
        return EventOutcome(event, skipped=why)

    def _observe(self, event: SyncEvent, outcome: str, level: int, what: str) -> None:
        self.metrics.count(
            "kradle.sync.events",
            attributes={
                "binding": self.binding,
                "interface": event.interface.value,
                "kind": event.object_kind,
                "outcome": outcome,
            },
        )
        if not log.isEnabledFor(level):  # every event passes here: skip building the record
            return
        log.log(
            level,
            "%s %s %s %s",
            event.object_kind,
            event.native_id,
            event.action,
            what,
            extra={
                "binding": self.binding,
                "provider": event.provider.type,
                "instance": event.provider.instance,
                "interface": event.interface.value,
                "kind": event.object_kind,
                "native_id": event.native_id,
                "delivery_id": event.delivery_id,
                "outcome": outcome,
            },
        )

    async def apply_events(self, events: Iterable[SyncEvent]) -> list[EventOutcome]:
        """Apply events in the order given (the result does not depend on it)."""
        return [await self.apply_event(e) for e in events]

    async def __call__(self, events: list[SyncEvent]) -> None:
        """The :data:`~kradle_providers.webhooks.receiver.EventHandler` form."""
        await self.apply_events(events)

    async def ingest(
        self, events: Iterable[SyncEvent], *, instance: str | None = None
    ) -> list[EventOutcome]:
        """Dedupe (store marks, by delivery id + action + native id), then apply.

        For events that did not come through a :class:`WebhookReceiver` (which
        dedupes itself). A failed apply unmarks its event so a retry applies it.
        """
        out: list[EventOutcome] = []
        for event in events:
            key = event_dedupe_key(event, instance=instance)
            if await self.store.dedupe.seen_before(key):
                out.append(self._skip(event, "duplicate"))
                continue
            try:
                out.append(await self.apply_event(event))
            except BaseException:
                await self.store.dedupe.forget(key)
                raise
        return out

    async def apply_page(
        self,
        objects: Sequence[CanonicalObject],
        state: SyncState,
        *,
        deletions: Sequence[Deletion] = (),
    ) -> list[ApplyOutcome]:
        """Apply a backfill page and its checkpoint atomically (same ordering rule)."""
        outcomes = await self.store.apply_page_and_checkpoint(
            self.binding, objects, state, deletions=deletions
        )
        for outcome in outcomes:
            self.tally.add(outcome.value)
        return outcomes
