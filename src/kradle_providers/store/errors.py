"""Errors the state store raises; each says what went wrong and how to fix it."""

from __future__ import annotations

from kradle_providers.errors import KradleError

__all__ = [
    "DuplicateRecord",
    "LeaseLost",
    "PhaseMismatch",
    "SchemaTooNew",
    "StoreClosed",
    "StoreError",
]


class StoreError(KradleError):
    """Base of every state-store error."""


class SchemaTooNew(StoreError):
    """The database was written by a newer kradle-providers than this one."""

    def __init__(self, path: str, found: int, known: int) -> None:
        self.path = path
        self.found = found
        self.known = known
        super().__init__(
            f"state store {path} has schema version {found}, but this kradle-providers only "
            f"knows versions up to {known}. Upgrade kradle-providers (pip install -U "
            "kradle-providers) on every process that opens this store; never downgrade a "
            "store in place."
        )


class StoreClosed(StoreError):
    """An operation was attempted on a store that is not open."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"state store {path} is not open; use `async with store:` or `await store.open()` "
            "before calling it"
        )


class DuplicateRecord(StoreError, ValueError):
    """A record with the same identity (id, idempotency key) already exists."""


class PhaseMismatch(StoreError):
    """A compare-and-set lost: the stored phase is not the one the caller expected.

    Another worker moved the record first; re-read it and decide again.
    """

    def __init__(self, what: str, record_id: str, expected: str, found: str) -> None:
        self.record_id = record_id
        self.expected = expected
        self.found = found
        super().__init__(
            f"{what} {record_id} is in phase {found}, not {expected} as expected: another "
            "worker changed it first. Re-read it and act on its current phase."
        )


class LeaseLost(StoreError):
    """A worker acted on a record it no longer holds: its lease expired and another took over.

    The other worker now owns the record; drop the work (its result would be a
    second processing) and claim something else.
    """

    def __init__(self, what: str, record_id: str, worker: str) -> None:
        self.record_id = record_id
        self.worker = worker
        super().__init__(
            f"{what} {record_id} is no longer claimed by worker {worker!r}: its lease expired "
            "and another worker took it over. Drop this attempt; renew leases more often than "
            "they expire (a lease must outlast the slowest step)."
        )
