"""Delivery records: what was received, when, and where it is in its lifecycle.

A :class:`DeliveryRecord` is written for every webhook request a receiver
accepts for a known provider, including the ones whose signature is rejected
(they are kept, as ``SignatureRejected``, for the operator; they are never
processed). Records carry a digest of the body and the request headers with
every secret, token and signature removed. Phase changes go through
:func:`kradle_providers.sync.phases.transition`, so a record cannot skip or
reverse its lifecycle.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from kradle_providers.auth.secret import is_sensitive_header, redact
from kradle_providers.errors import NotFound
from kradle_providers.models.base import UtcDatetime
from kradle_providers.sync.phases import DeliveryPhase, transition
from kradle_providers.webhooks.schemes import body_digest

__all__ = [
    "DeliveryRecord",
    "DeliveryStore",
    "InMemoryDeliveryStore",
    "PhaseEntry",
    "sanitize_headers",
]


def sanitize_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased headers without secrets, tokens or signatures (values also redacted)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        sensitive = _SENSITIVE.get(key)
        if sensitive is None:
            sensitive = is_sensitive_header(key)
            if len(_SENSITIVE) < 512:  # bounded: unverified requests choose names too
                _SENSITIVE[key] = sensitive
        if not sensitive:
            out[key] = str(value)
    # One scan for known secrets over all values; per value only when one shows up.
    joined = "\n".join(out.values())
    if redact(joined) != joined:
        out = {k: redact(v) for k, v in out.items()}
    return out


_SENSITIVE: dict[str, bool] = {}  # header names repeat: the pattern runs once per name


class PhaseEntry(BaseModel):
    """One step of a delivery's history."""

    model_config = ConfigDict(frozen=True)

    phase: DeliveryPhase
    at: UtcDatetime
    note: str | None = None


class DeliveryRecord(BaseModel):
    """One received webhook delivery and its lifecycle.

    ``id`` is ours; ``delivery_id`` is the provider's (or a body digest when the
    provider sends none). ``attempts`` counts normalization attempts.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    provider: str
    instance: str = "default"
    event: str
    action: str | None = None
    delivery_id: str
    received_at: UtcDatetime
    phase: DeliveryPhase = DeliveryPhase.RECEIVED
    attempts: int = 0
    error: str | None = None
    body_digest: str
    body_size: int = 0
    headers: dict[str, str] = Field(default_factory=dict)
    history: tuple[PhaseEntry, ...] = ()

    @classmethod
    def received(
        cls,
        *,
        provider: str,
        instance: str,
        event: str,
        delivery_id: str,
        body: bytes,
        headers: Mapping[str, str],
        at: datetime | None = None,
    ) -> DeliveryRecord:
        """A new record in phase ``Received`` (headers sanitized, body digested)."""
        when = at or datetime.now(UTC)
        return cls(
            provider=provider,
            instance=instance,
            event=event,
            delivery_id=delivery_id,
            received_at=when,
            body_digest=body_digest(body),
            body_size=len(body),
            headers=sanitize_headers(headers),
            history=(PhaseEntry(phase=DeliveryPhase.RECEIVED, at=when),),
        )

    def advance(
        self,
        phase: DeliveryPhase,
        *,
        at: datetime | None = None,
        note: str | None = None,
        error: str | None = None,
        action: str | None = None,
        explicit: bool = False,
    ) -> DeliveryRecord:
        """A copy moved to ``phase``; raises InvalidTransition when not allowed.

        Entering ``Normalizing`` counts an attempt; ``error`` is redacted and
        cleared on success.
        """
        new = transition(self.phase, phase, explicit=explicit)
        when = at or datetime.now(UTC)
        updates: dict[str, object] = {
            "phase": new,
            "history": (*self.history, PhaseEntry(phase=new, at=when, note=note)),
        }
        if new is DeliveryPhase.NORMALIZING:
            updates["attempts"] = self.attempts + 1
        if error is not None:
            updates["error"] = redact(error)
        elif new is DeliveryPhase.SUCCEEDED:
            updates["error"] = None
        if action is not None:
            updates["action"] = action
        return self.model_copy(update=updates)


@runtime_checkable
class DeliveryStore(Protocol):
    """Where delivery records (and the raw bodies needed to replay them) live."""

    async def add(self, record: DeliveryRecord, body: bytes | None = None) -> None:
        """Store a new record (and its raw body, kept for processing and replay)."""
        ...

    async def get(self, record_id: str) -> DeliveryRecord:
        """The record, or :class:`NotFound`."""
        ...

    async def get_body(self, record_id: str) -> bytes | None:
        """The raw body stored with the record, if any."""
        ...

    async def update_phase(
        self,
        record_id: str,
        phase: DeliveryPhase,
        *,
        note: str | None = None,
        error: str | None = None,
        action: str | None = None,
        explicit: bool = False,
    ) -> DeliveryRecord:
        """Move the record to ``phase`` (enforced) and return the updated record."""
        ...

    async def list_by_phase(self, phase: DeliveryPhase) -> list[DeliveryRecord]:
        """Every record currently in ``phase``, oldest first."""
        ...


class InMemoryDeliveryStore:
    """A :class:`DeliveryStore` in a dict, for tests and single-process hosts."""

    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._records: dict[str, DeliveryRecord] = {}
        self._bodies: dict[str, bytes] = {}
        self._lock = asyncio.Lock()

    async def add(self, record: DeliveryRecord, body: bytes | None = None) -> None:
        """Store a new record; refuses a duplicate record id."""
        async with self._lock:
            if record.id in self._records:
                raise ValueError(f"delivery record {record.id} already exists")
            self._records[record.id] = record
            if body is not None:
                self._bodies[record.id] = body

    async def get(self, record_id: str) -> DeliveryRecord:
        """The record, or NotFound."""
        try:
            return self._records[record_id]
        except KeyError:
            raise NotFound(f"no delivery record {record_id!r}; list records by phase") from None

    async def get_body(self, record_id: str) -> bytes | None:
        """The stored raw body, if any."""
        return self._bodies.get(record_id)

    async def update_phase(
        self,
        record_id: str,
        phase: DeliveryPhase,
        *,
        note: str | None = None,
        error: str | None = None,
        action: str | None = None,
        explicit: bool = False,
    ) -> DeliveryRecord:
        """Move the record to ``phase`` atomically (read, check, write under one lock)."""
        async with self._lock:
            record = await self.get(record_id)
            updated = record.advance(
                phase, at=self._clock(), note=note, error=error, action=action, explicit=explicit
            )
            self._records[record_id] = updated
            return updated

    async def list_by_phase(self, phase: DeliveryPhase) -> list[DeliveryRecord]:
        """Records in ``phase``, oldest first."""
        found = [r for r in self._records.values() if r.phase is phase]
        return sorted(found, key=lambda r: r.received_at)

    def __len__(self) -> int:
        return len(self._records)
