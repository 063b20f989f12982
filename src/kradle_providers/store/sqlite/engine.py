"""The default :class:`~kradle_providers.store.protocol.StateStore`: one embedded SQLite file.

Design:

- One connection, used only from one dedicated thread
  (:class:`~kradle_providers.store.sqlite.thread.StoreThread`): the event loop
  never blocks on disk, calls run in the order they were made, and each call is
  atomic with respect to every other call of the process, so many asyncio tasks
  can share a store.
- Calls queued together commit together (group commit): one ``BEGIN IMMEDIATE``
  transaction (one call that raises is rolled back alone), one wake-up of the loop; the
  write lock is taken up front, so a second process waits on the busy timeout
  instead of failing half-way. :attr:`SqliteStateStore.counters` counts calls
  and transactions.
- WAL journal (readers never block the writer), foreign keys on, a busy
  timeout, and ``synchronous=NORMAL`` by default: durable against a process
  crash (``kill -9``); pass ``durable=True`` for ``FULL`` (power loss too).
- The schema is versioned (:mod:`kradle_providers.store.migrations`).
- CPU work that does not need the connection (serializing canonical objects,
  digests) happens in the caller, before the call is queued.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from kradle_providers.models.base import CanonicalObject
from kradle_providers.store.counters import StoreCounters
from kradle_providers.store.errors import StoreClosed
from kradle_providers.store.migrations import migrate, schema_version
from kradle_providers.store.ordering import ApplyOutcome
from kradle_providers.store.sqlite.audit import SqliteAuditLog
from kradle_providers.store.sqlite.budgets import SqliteBudgets
from kradle_providers.store.sqlite.conflicts import SqliteConflictRepository
from kradle_providers.store.sqlite.dedupe import SqliteDedupeStore
from kradle_providers.store.sqlite.deliveries import SqliteDeliveryRepository
from kradle_providers.store.sqlite.intents import SqliteWriteIntentRepository
from kradle_providers.store.sqlite.leases import SqliteLeases
from kradle_providers.store.sqlite.projections import (
    SqliteProjectionRepository,
    apply_row,
    incoming_deletion,
    incoming_object,
)
from kradle_providers.store.sqlite.rows import (
    T,
    ts,
    utcnow,
)
from kradle_providers.store.sqlite.sync_states import (
    SqliteSyncStateRepository,
    put_state,
    state_row,
)
from kradle_providers.store.sqlite.thread import StoreThread
from kradle_providers.store.sqlite.validators import SqliteValidators
from kradle_providers.sync.records import (
    Deletion,
    ProjectionSource,
    SyncState,
)

__all__ = ["SqliteStateStore"]


Clock = Callable[[], datetime]


class SqliteStateStore:
    """A :class:`StateStore` in one SQLite file (or ``":memory:"``).

    >>> async with SqliteStateStore("state.db") as store:  # doctest: +SKIP
    ...     await store.projections.apply_many("b1", page, source=ProjectionSource.BACKFILL)

    ``clock`` stamps records (inject a fake one in tests); ``dedupe_ttl`` is how
    long a dedupe mark lasts; ``busy_timeout`` (seconds) is how long to wait
    for another process holding the write lock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        clock: Clock = utcnow,
        dedupe_ttl: timedelta = timedelta(days=3),
        busy_timeout: float = 30.0,
        durable: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._durable = durable
        self._thread: StoreThread | None = None
        self.counters = StoreCounters()
        """Calls run and transactions committed since the store opened (the open one's)."""
        self._open_lock = asyncio.Lock()
        self._version = 0
        self._deliveries = SqliteDeliveryRepository(self)
        self._dedupe = SqliteDedupeStore(self, ttl=dedupe_ttl)
        self._sync_states = SqliteSyncStateRepository(self)
        self._projections = SqliteProjectionRepository(self)
        self._intents = SqliteWriteIntentRepository(self)
        self._conflicts = SqliteConflictRepository(self)
        self._audit = SqliteAuditLog(self)
        self._leases = SqliteLeases(self)
        self._budgets = SqliteBudgets(self)
        self._validators = SqliteValidators(self)

    def __repr__(self) -> str:
        state = "open" if self._thread is not None else "closed"
        return f"SqliteStateStore({self.path!r}, {state}, schema v{self._version})"

    # ------------------------------------------------------------------ facets

    @property
    def deliveries(self) -> SqliteDeliveryRepository:
        """Webhook delivery records and raw bodies."""
        return self._deliveries

    @property
    def dedupe(self) -> SqliteDedupeStore:
        """Duplicate-event marks."""
        return self._dedupe

    @property
    def sync_states(self) -> SqliteSyncStateRepository:
        """Sync stream checkpoints."""
        return self._sync_states

    @property
    def projections(self) -> SqliteProjectionRepository:
        """Projected external objects."""
        return self._projections

    @property
    def intents(self) -> SqliteWriteIntentRepository:
        """Write intents."""
        return self._intents

    @property
    def conflicts(self) -> SqliteConflictRepository:
        """Conflicts."""
        return self._conflicts

    @property
    def audit(self) -> SqliteAuditLog:
        """The audit stream."""
        return self._audit

    @property
    def leases(self) -> SqliteLeases:
        """Named leases (one backfill per stream across processes)."""
        return self._leases

    @property
    def budgets(self) -> SqliteBudgets:
        """Rate-limit budgets shared by every process using the store."""
        return self._budgets

    @property
    def validators(self) -> SqliteValidators:
        """Conditional-request validators kept for every later process using the store."""
        return self._validators

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        return self._version

    def now(self) -> datetime:
        """The store's clock."""
        return self._clock()

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> Self:
        """Connect, configure and migrate; idempotent.

        Raises :class:`~kradle_providers.store.errors.SchemaTooNew` for a
        database written by a newer kradle-providers.
        """
        async with self._open_lock:
            if self._thread is not None:
                return self
            thread = StoreThread(self._connect)
            await thread.start()
            self._thread, self.counters = thread, thread.counters
            return self

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE … COMMIT).
        conn = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=True
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000):d}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self._durable else 'NORMAL'}")
            migrate(conn, path=self.path)
            self._version = schema_version(conn)
            return conn
        except BaseException:
            conn.close()
            raise

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; idempotent."""
        async with self._open_lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                # Queued behind every pending call, so those finish first.
                await thread.stop()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ running calls

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store thread, atomically (it may share a commit).

        ``fn`` must depend on the connection alone: when another call of its group
        raises, the group is rolled back and ``fn`` runs again.
        """
        thread = self._thread
        if thread is None:
            raise StoreClosed(self.path)
        result: T = await thread.submit(fn, transactional=False)
        return result

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store thread inside a write transaction (it may
        run twice, as with :meth:`call`)."""
        thread = self._thread
        if thread is None:
            raise StoreClosed(self.path)
        result: T = await thread.submit(fn, transactional=True)
        return result

    # ------------------------------------------------------------------ cross-family

    async def apply_page_and_checkpoint(
        self,
        binding: str,
        objects: Sequence[CanonicalObject],
        state: SyncState,
        *,
        source: ProjectionSource = ProjectionSource.BACKFILL,
        deletions: Sequence[Deletion] = (),
    ) -> list[ApplyOutcome]:
        """Apply a page (objects, then deletions) and store ``state`` in one transaction.

        A crash at any point leaves either the previous checkpoint with none of
        the page, or ``state`` with all of it: nothing is lost or applied twice
        on resume (and re-applying a page is idempotent anyway).
        """
        now = self._clock()
        at, src = ts(now), ProjectionSource(source).value
        rows = [incoming_object(binding, obj, src, None, at) for obj in objects]
        rows += [
            incoming_deletion(binding, d.key, d.version, d.at or now, src, None, at)
            for d in deletions
        ]
        checkpoint = state_row(state)

        def work(conn: sqlite3.Connection) -> list[ApplyOutcome]:
            outcomes = [apply_row(conn, row) for row in rows]
            self._write_state(conn, checkpoint)
            return outcomes

        return await self.transaction(work)

    def _write_state(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> None:
        # A method (not inlined) so tests can fail it to prove the page rolls back.
        put_state(conn, row)
