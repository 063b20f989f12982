"""What claiming work means, the same in every store: which records a worker may take.

Several workers (tasks of one process, or replicas sharing a database) take
deliveries and write intents from the store by *claiming* them: the store
marks the record with the worker's name and a lease that expires. A worker
renews its lease while it works; a worker that dies stops renewing, and once
the lease has expired any other worker may claim the record and finish it.
Every later step of a claimed record is fenced by the claim
(:class:`~kradle_providers.store.errors.LeaseLost` for a worker that lost it),
so a record is finished once.

A delivery is claimable when it is

- ``Queued`` (and not claimed, or its claim expired);
- ``Retrying`` and its stored retry time has come;
- ``Received``, ``Normalizing`` or ``Processing`` and its lease expired: the
  worker (or the intake) that had it died; it is recovered through
  ``Retrying`` (an attempt counts, so a delivery that kills every worker ends
  dead-lettered) back to ``Queued``.

This module holds the engine-independent part (phase moves, constants); each
store writes the SQL.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from kradle_providers.sync.phases import DeliveryPhase, WriteIntentPhase
from kradle_providers.webhooks.deliveries import DeliveryRecord

__all__ = [
    "DEFAULT_LEASE",
    "DELIVERY_IN_FLIGHT",
    "INTAKE_GRACE",
    "INTENT_CLAIMABLE",
    "RECOVERED_NOTE",
    "SqlDialect",
    "backfill_lease_name",
    "claim_moves",
    "delivery_update",
    "epoch",
    "holder_id",
    "local_holder_gone",
    "recovered",
    "releases_claim",
]

DEFAULT_LEASE = timedelta(seconds=60)
"""How long a claim lasts unless renewed."""

INTAKE_GRACE = timedelta(seconds=30)
"""How long a delivery may sit in ``Received`` (intake between recording and queueing)
before it is taken for recovery."""

RECOVERED_NOTE = "recovered: the worker holding it stopped (lease expired)"

DELIVERY_IN_FLIGHT = (
    DeliveryPhase.RECEIVED,
    DeliveryPhase.NORMALIZING,
    DeliveryPhase.PROCESSING,
)
"""Phases a delivery is recovered from once its lease expired (someone was working on it)."""

INTENT_CLAIMABLE = (WriteIntentPhase.READY_TO_SEND, WriteIntentPhase.RETRYING)
"""Write intents a worker may claim to send (``Sending`` ones too, once their lease
expired: the claimer must find out whether the write arrived before sending again)."""


def epoch(at: datetime) -> float:
    """Seconds since the epoch (how lease and retry times are stored)."""
    return at.timestamp()


def claim_moves(record: DeliveryRecord, at: datetime) -> DeliveryRecord:
    """``record`` moved to ``Queued`` as a claim takes it (unchanged if already queued)."""
    phase = record.phase
    if phase is DeliveryPhase.RECEIVED:
        return record.advance(DeliveryPhase.QUEUED, at=at, note="recovered: never queued")
    if phase in (DeliveryPhase.NORMALIZING, DeliveryPhase.PROCESSING):
        retrying = record.advance(DeliveryPhase.RETRYING, at=at, note=RECOVERED_NOTE)
        return retrying.advance(DeliveryPhase.QUEUED, at=at, note="retry")
    if phase is DeliveryPhase.RETRYING:
        return record.advance(DeliveryPhase.QUEUED, at=at, note="retry")
    return record


def releases_claim(phase: DeliveryPhase) -> bool:
    """Whether entering ``phase`` ends the worker's claim."""
    return phase not in DELIVERY_IN_FLIGHT


class SqlDialect(NamedTuple):
    """What differs between the stores' SQL in :func:`delivery_update`."""

    mark: str  # a parameter: ``?`` (sqlite3) or ``%s`` (psycopg)
    greatest: str  # the larger of two values: ``MAX`` or ``GREATEST``


def delivery_update(
    record: DeliveryRecord,
    sql: SqlDialect,
    *,
    lease_until: float | None = None,
    claimed_by: str | None = None,
    retry_at: datetime | None = None,
    was: DeliveryPhase | None = None,
) -> tuple[str, tuple[object, ...]]:
    """The ``UPDATE`` storing ``record`` in a store's ``deliveries`` table, in its SQL
    dialect, and its parameters.

    A phase that ends claims clears them (keeping ``retry_at``); an unclaimed move into
    an in-flight phase keeps the intake's grace lease. With ``was`` the write is fenced:
    it changes the row only while ``claimed_by`` still holds it in that phase."""
    mark = sql.mark  # only the dialect's own text goes into the statement: values are parameters
    text = record.model_dump_json()
    if releases_claim(record.phase):
        retry = None if retry_at is None else epoch(retry_at)
        statement = (
            f"UPDATE deliveries SET phase = {mark}, record = {mark}, claimed_by = NULL, "  # noqa: S608
            f"lease_until = NULL, next_attempt_at = {mark}"
        )
        params: tuple[object, ...] = (record.phase.value, text, retry)
    elif claimed_by is not None:
        statement = f"UPDATE deliveries SET phase = {mark}, record = {mark}"  # noqa: S608
        params = (record.phase.value, text)
    else:
        # Recoverable once the grace passed (the intake that recorded it may die).
        statement = (
            f"UPDATE deliveries SET phase = {mark}, record = {mark}, "  # noqa: S608
            f"lease_until = {sql.greatest}(COALESCE(lease_until, 0), {mark})"
        )
        params = (record.phase.value, text, lease_until)
    if was is None:
        return f"{statement} WHERE id = {mark}", (*params, record.id)
    fenced = f"{statement} WHERE id = {mark} AND claimed_by = {mark} AND phase = {mark}"
    return fenced, (*params, record.id, claimed_by, was.value)


def recovered(record: DeliveryRecord) -> bool:
    """Whether the current attempt follows a worker that died mid-way (its marks may remain)."""
    for entry in reversed(record.history):
        if entry.phase is DeliveryPhase.RETRYING:
            return entry.note == RECOVERED_NOTE
    return False


def backfill_lease_name(binding: str, interface: str, kind: str, scope: str = "-") -> str:
    """The lease one backfill of a stream holds (one replica backfills a stream at a time)."""
    return f"backfill:{binding}/{interface}/{kind}/{scope}"


def holder_id() -> str:
    """A name for this process's claims and leases: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def local_holder_gone(holder: str) -> bool:
    """Whether ``holder`` (a :func:`holder_id`) was a process of this host that no longer runs.

    Its leases can be taken over at once instead of after they expire (a
    command re-run right after ``kill -9``).
    """
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
