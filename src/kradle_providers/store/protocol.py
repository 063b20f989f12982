"""The state store contract the sync engine is written against.

A :class:`StateStore` groups one repository per record family (deliveries,
dedupe marks, sync checkpoints, projections, write intents, conflicts, audit)
behind one connection, so that operations spanning families, above all
:meth:`StateStore.apply_page_and_checkpoint`, are one transaction. Every
method is async; an implementation must be safe to call from many asyncio
tasks at once and must apply each call atomically.

The embedded SQLite implementation (:class:`kradle_providers.store.SqliteStateStore`)
is the default; :class:`kradle_providers.store.postgres.PostgresStateStore` is
the shared one for several replicas. A host writing a third runs
:mod:`kradle_providers.testing.store_conformance` against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from kradle_providers.models.base import CanonicalObject, Interface, Version
from kradle_providers.store.ordering import ApplyOutcome
from kradle_providers.sync.phases import ConflictPhase, DeliveryPhase, WriteIntentPhase
from kradle_providers.sync.records import (
    AuditEvent,
    Conflict,
    Deletion,
    ObjectKey,
    Projection,
    ProjectionSource,
    SyncState,
    WriteIntent,
)
from kradle_providers.webhooks.dedupe import DedupeStore
from kradle_providers.webhooks.deliveries import DeliveryRecord, DeliveryStore

if TYPE_CHECKING:  # httpx stays out of commands that only read the store
    from kradle_providers.http.conditional import ValidatorBackend
    from kradle_providers.http.ratelimit import BudgetBackend

__all__ = [
    "AuditLog",
    "ConflictRepository",
    "DeliveryClaims",
    "DeliveryRepository",
    "ExpiringDedupeStore",
    "LeaseRepository",
    "ProjectionRepository",
    "StateStore",
    "SyncStateRepository",
    "WriteIntentRepository",
]


@runtime_checkable
class DeliveryClaims(Protocol):
    """Deliveries taken by workers with expiring leases (see :mod:`kradle_providers.store.claims`).

    Several workers, in one process or in replicas sharing the store, call
    :meth:`claim`; each claimable delivery goes to one of them. A worker moves
    its claimed delivery on with :meth:`advance_claimed` (fenced: once another
    worker took it over after the lease expired, the old worker's moves raise
    :class:`~kradle_providers.store.errors.LeaseLost`) and renews the lease
    while it works.
    """

    async def claim(self, worker: str, *, lease: timedelta, limit: int = 1) -> list[DeliveryRecord]:
        """Claim up to ``limit`` deliveries, oldest first, each returned in ``Queued``.

        Claimable: ``Queued``; ``Retrying`` whose retry time has come;
        ``Received``/``Normalizing``/``Processing`` whose lease expired
        (recovered through ``Retrying``, which counts the attempt).
        """
        ...

    async def claim_started(
        self, worker: str, *, lease: timedelta, limit: int = 1
    ) -> list[tuple[DeliveryRecord, bytes | None]]:
        """:meth:`claim`, each delivery moved on to ``Normalizing`` (an attempt) in the same
        write and returned with its raw body: what a worker does first, in one round trip."""
        ...

    async def renew(self, record_id: str, worker: str, *, lease: timedelta) -> bool:
        """Extend ``worker``'s lease to now + ``lease``; ``False`` if it lost the record."""
        ...

    async def advance_claimed(
        self,
        record_id: str,
        worker: str,
        phase: DeliveryPhase,
        *,
        note: str | None = None,
        error: str | None = None,
        action: str | None = None,
        retry_at: datetime | None = None,
    ) -> DeliveryRecord:
        """Move a claimed record (enforced); ``Retrying`` stores ``retry_at``.

        Entering ``Retrying``, ``Succeeded`` or ``DeadLettered`` ends the claim.
        Raises :class:`LeaseLost` when ``worker`` no longer holds the record.
        """
        ...

    async def save_claimed(
        self,
        record: DeliveryRecord,
        worker: str,
        *,
        was: DeliveryPhase,
        retry_at: datetime | None = None,
    ) -> None:
        """Store ``record``, moved on in memory (one step or several, with ``advance``) from
        the claimed one stored in phase ``was``: one write, no read.

        Fenced like :meth:`advance_claimed`: :class:`LeaseLost` unless ``worker``
        still holds the record and it is still in ``was``.
        """
        ...


@runtime_checkable
class DeliveryRepository(DeliveryStore, DeliveryClaims, Protocol):
    """A :class:`DeliveryStore` with claims that also answers operators' questions."""

    async def count_by_phase(self) -> dict[DeliveryPhase, int]:
        """How many records are in each phase (phases with none are omitted)."""
        ...

    async def find_by_delivery_id(self, provider: str, delivery_id: str) -> list[DeliveryRecord]:
        """Every record of the provider's delivery id (redeliveries share it), oldest first."""
        ...


@runtime_checkable
class ExpiringDedupeStore(DedupeStore, Protocol):
    """A :class:`DedupeStore` whose marks expire and can be purged."""

    async def purge_expired(self) -> int:
        """Delete expired marks; returns how many."""
        ...


class SyncStateRepository(Protocol):
    """Checkpoints of sync streams, keyed by (binding, interface, kind, scope)."""

    async def get(
        self, binding: str, interface: Interface, kind: str, scope: str = "-"
    ) -> SyncState | None:
        """The stored state, or ``None`` for a stream never checkpointed."""
        ...

    async def put(self, state: SyncState) -> None:
        """Store ``state``, replacing the stream's previous one."""
        ...

    async def find(self, *, binding: str | None = None) -> list[SyncState]:
        """Every stored state (of one binding), ordered by key."""
        ...


class ProjectionRepository(Protocol):
    """Last known state of every synced object, applied in version order.

    See :mod:`kradle_providers.store.ordering` for the rule that makes applying
    idempotent and order-independent.
    """

    async def apply_object(
        self,
        binding: str,
        obj: CanonicalObject,
        *,
        source: ProjectionSource,
        delivery_id: str | None = None,
    ) -> ApplyOutcome:
        """Apply one object's state; returns what that did."""
        ...

    async def apply_many(
        self,
        binding: str,
        objects: Iterable[CanonicalObject],
        *,
        source: ProjectionSource,
        delivery_id: str | None = None,
    ) -> list[ApplyOutcome]:
        """Apply a page of objects in one transaction; outcomes in input order."""
        ...

    async def tombstone(
        self,
        binding: str,
        key: ObjectKey,
        *,
        version: Version | None = None,
        at: datetime | None = None,
        source: ProjectionSource = ProjectionSource.WEBHOOK,
        delivery_id: str | None = None,
    ) -> ApplyOutcome:
        """Mark the object deleted, unless the stored state is newer.

        A deletion that carries no version is ordered at ``at`` (when it was
        observed): pass ``version=Version(updated_at=observed_at)`` or leave it out.
        """
        ...

    async def get(self, binding: str, key: ObjectKey) -> Projection | None:
        """The stored projection (tombstoned or not), or ``None``."""
        ...

    def iter_projections(
        self,
        *,
        binding: str | None = None,
        interface: Interface | None = None,
        kind: str | None = None,
        include_tombstoned: bool = False,
        page_size: int = 500,
    ) -> AsyncIterator[Projection]:
        """Stream projections page by page (never all in memory), in insertion order."""
        ...

    async def count_by_kind(self, binding: str | None = None) -> dict[str, int]:
        """Live (non-tombstoned) objects per ``"<interface>/<Kind>"``."""
        ...

    async def purge_tombstones(self, before: datetime) -> int:
        """Forget tombstones older than ``before``; returns how many.

        Only safe once no delivery older than ``before`` can still arrive: a
        forgotten tombstone no longer blocks a stale re-create.
        """
        ...


class WriteIntentRepository(Protocol):
    """Write intents, with compare-and-set phase changes."""

    async def create(self, intent: WriteIntent) -> WriteIntent:
        """Store a new intent; :class:`DuplicateRecord` if its id or idempotency key exists."""
        ...

    async def get(self, intent_id: str) -> WriteIntent:
        """The intent, or :class:`NotFound`."""
        ...

    async def find_by_idempotency_key(self, key: str) -> WriteIntent | None:
        """The intent created with ``key``, if any."""
        ...

    async def find(
        self,
        *,
        phase: WriteIntentPhase | None = None,
        binding: str | None = None,
        limit: int | None = None,
    ) -> list[WriteIntent]:
        """Intents (in a phase, of a binding), oldest first."""
        ...

    async def save(self, intent: WriteIntent, *, expected_phase: WriteIntentPhase) -> WriteIntent:
        """Replace the stored intent if it is still in ``expected_phase``.

        Raises :class:`PhaseMismatch` when another worker moved it first, and
        :class:`InvalidTransition` when ``expected_phase -> intent.phase`` is not
        a legal move.
        """
        ...

    async def advance(
        self,
        intent_id: str,
        phase: WriteIntentPhase,
        *,
        expected_phase: WriteIntentPhase | None = None,
        explicit: bool = False,
        note: str | None = None,
        **changes: Any,
    ) -> WriteIntent:
        """Read, move to ``phase`` (enforced) and write back, atomically."""
        ...

    async def claim(
        self,
        worker: str,
        *,
        lease: timedelta,
        binding: str | None = None,
        limit: int = 1,
    ) -> list[WriteIntent]:
        """Claim intents to send, oldest first: each goes to one worker until its lease expires.

        Claimable: ``ReadyToSend`` and ``Retrying`` intents nobody holds, and
        ``Sending`` intents whose claimer's lease expired (it may have died
        after the request left: find out by read-back before sending again).
        The phase is not changed; move it with :meth:`advance` and
        :meth:`release` the claim when done.
        """
        ...

    async def renew(self, intent_id: str, worker: str, *, lease: timedelta) -> bool:
        """Extend ``worker``'s claim; ``False`` if another worker took the intent over."""
        ...

    async def release(self, intent_id: str, worker: str) -> None:
        """End ``worker``'s claim on the intent."""
        ...


class LeaseRepository(Protocol):
    """Named leases: one holder at a time, kept by heartbeats, taken over once expired.

    Used for work only one replica may do at a time, such as the backfill of
    one stream (:func:`kradle_providers.store.claims.backfill_lease_name`).
    """

    async def acquire(self, name: str, holder: str, *, ttl: timedelta) -> bool:
        """Take ``name`` if free, expired or already ``holder``'s; ``True`` when held."""
        ...

    async def renew(self, name: str, holder: str, *, ttl: timedelta) -> bool:
        """Extend ``holder``'s lease (the heartbeat); ``False`` once it was taken over."""
        ...

    async def release(self, name: str, holder: str) -> None:
        """Give up ``holder``'s lease (no effect if someone else holds it)."""
        ...

    async def holder(self, name: str) -> str | None:
        """The current holder (``None`` if free or expired)."""
        ...


class ConflictRepository(Protocol):
    """Detected conflicts and their resolutions."""

    async def create(self, conflict: Conflict) -> Conflict:
        """Store a new conflict; :class:`DuplicateRecord` if its id exists."""
        ...

    async def get(self, conflict_id: str) -> Conflict:
        """The conflict, or :class:`NotFound`."""
        ...

    async def find(
        self,
        *,
        phase: ConflictPhase | None = None,
        binding: str | None = None,
        limit: int | None = None,
    ) -> list[Conflict]:
        """Conflicts (in a phase, of a binding), oldest first."""
        ...

    async def save(self, conflict: Conflict, *, expected_phase: ConflictPhase) -> Conflict:
        """Replace the stored conflict if still in ``expected_phase`` (compare-and-set)."""
        ...


class AuditLog(Protocol):
    """The append-only audit stream."""

    async def append(self, event: AuditEvent) -> AuditEvent:
        """Store ``event`` (redacted again at storage time); returns it with its new id."""
        ...

    async def find(
        self, *, binding: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """Events with id > ``after_id`` (of a binding), in id order."""
        ...

    async def count(self, *, binding: str | None = None) -> int:
        """How many events (of a binding) are stored."""
        ...


@runtime_checkable
class StateStore(Protocol):
    """Everything the sync engine persists, behind one transactional connection."""

    @property
    def deliveries(self) -> DeliveryRepository:
        """Webhook delivery records and raw bodies."""
        ...

    @property
    def dedupe(self) -> ExpiringDedupeStore:
        """Duplicate-event marks."""
        ...

    @property
    def sync_states(self) -> SyncStateRepository:
        """Sync stream checkpoints."""
        ...

    @property
    def projections(self) -> ProjectionRepository:
        """Projected external objects."""
        ...

    @property
    def intents(self) -> WriteIntentRepository:
        """Write intents."""
        ...

    @property
    def conflicts(self) -> ConflictRepository:
        """Conflicts."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit stream."""
        ...

    @property
    def leases(self) -> LeaseRepository:
        """Named leases shared by every process using the store."""
        ...

    @property
    def budgets(self) -> BudgetBackend:
        """Rate-limit budgets shared by every process using the store
        (``BudgetRegistry(backend=store.budgets)``)."""
        ...

    @property
    def validators(self) -> ValidatorBackend:
        """Conditional-request validators (and bodies) kept for every later process
        (``HttpClient.share_validators_with(store.validators)``)."""
        ...

    def now(self) -> datetime:
        """The store's clock (stamps records, leases and retry times)."""
        ...

    async def open(self) -> Self:
        """Connect and migrate the schema; idempotent."""
        ...

    async def aclose(self) -> None:
        """Release the connection; idempotent."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def apply_page_and_checkpoint(
        self,
        binding: str,
        objects: Sequence[CanonicalObject],
        state: SyncState,
        *,
        source: ProjectionSource = ProjectionSource.BACKFILL,
        deletions: Sequence[Deletion] = (),
    ) -> list[ApplyOutcome]:
        """Apply a page (objects, then deletions) and store ``state``, all or nothing.

        A crash at any point leaves either the previous checkpoint with none of
        the page, or the new checkpoint with all of it.
        """
        ...
