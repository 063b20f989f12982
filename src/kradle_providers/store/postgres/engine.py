"""The shared :class:`~kradle_providers.store.protocol.StateStore`: one PostgreSQL schema.

Several replicas of a host open the same database (and schema) and share
projections, checkpoints, deliveries, intents, conflicts, audit and leases.

Design:

- **psycopg 3** (async) with **psycopg_pool**: it speaks the libpq protocol
  (every ``postgresql://`` URL, ``PG*`` variable, service file and TLS option a
  host already uses works unchanged), its async API is native rather than
  wrapped, it ships typed, and its pool checks connections and resets them
  between uses. asyncpg is faster on raw throughput but has its own DSN
  handling and no libpq options, and our hot paths are a few statements per
  transaction where the difference does not show.
- Each call is atomic on a pooled connection (``READ COMMITTED``); calls made
  while others run are grouped into one transaction (group commit). A group in
  which a call raises is rolled back and runs again with a savepoint per call, so
  that one is rolled back alone; a group that fails as a whole (a deadlock say)
  runs each call again on its own.
  Rows a call changes are locked first (``SELECT … FOR UPDATE``), so
  read-check-write sequences (phase compare-and-set, projection ordering) are
  atomic across replicas; work queues are claimed with ``FOR UPDATE SKIP
  LOCKED`` so replicas never wait for each other's claims.
- A transaction that loses a deadlock or a serialization check is retried
  from the start (a few times); every call is written to be safe to re-run.
- The schema is versioned (:mod:`.migrations`); migrations run under an
  advisory lock, so replicas starting at once migrate once.
- Timestamps that order records are fixed-width UTC text (as in SQLite);
  lease and retry times are epoch seconds from the store's clock: replicas
  need synchronized clocks (NTP), which any host running replicas has.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import psycopg
from psycopg import AsyncConnection, errors, sql
from psycopg_pool import AsyncConnectionPool

from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import CanonicalObject
from kradle_providers.store.counters import StoreCounters
from kradle_providers.store.errors import SchemaTooNew, StoreClosed
from kradle_providers.store.migrations import Migration
from kradle_providers.store.ordering import ApplyOutcome
from kradle_providers.store.postgres.audit import PostgresAuditLog
from kradle_providers.store.postgres.budgets import PostgresBudgets
from kradle_providers.store.postgres.conflicts import PostgresConflictRepository
from kradle_providers.store.postgres.dedupe import PostgresDedupeStore
from kradle_providers.store.postgres.deliveries import PostgresDeliveryRepository
from kradle_providers.store.postgres.intents import PostgresWriteIntentRepository
from kradle_providers.store.postgres.leases import PostgresLeases
from kradle_providers.store.postgres.migrations import PG_MIGRATIONS
from kradle_providers.store.postgres.projections import PostgresProjectionRepository, apply_rows
from kradle_providers.store.postgres.sync_states import PostgresSyncStateRepository, put_state
from kradle_providers.store.postgres.validators import PostgresValidators
from kradle_providers.store.sqlite.projections import incoming_deletion, incoming_object
from kradle_providers.store.sqlite.rows import ts, utcnow
from kradle_providers.store.sqlite.sync_states import state_row
from kradle_providers.store.url import redact_dsn
from kradle_providers.sync.records import Deletion, ProjectionSource, SyncState

__all__ = ["Conn", "PostgresStateStore"]

T = TypeVar("T")
Conn = AsyncConnection[tuple[Any, ...]]
Clock = Callable[[], datetime]

_RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
_Pending = tuple[Callable[[Any], Awaitable[Any]], "asyncio.Future[Any]", int, bool]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its caller was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresStateStore:
    """A :class:`StateStore` in one PostgreSQL schema, shared by every replica.

    >>> async with PostgresStateStore("postgresql://app@db/kradle") as store:  # doctest: +SKIP
    ...     await store.projections.apply_many("b1", page, source=ProjectionSource.BACKFILL)

    ``schema`` keeps the tables apart from the host's (created if missing);
    ``min_size``/``max_size`` size the connection pool (a replica needs about
    one connection per concurrent worker); ``clock`` stamps records and
    leases; ``dedupe_ttl`` is how long a dedupe mark lasts.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "kradle",
        clock: Clock = utcnow,
        dedupe_ttl: timedelta = timedelta(days=3),
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise InvalidInput(
                f"schema {schema!r} is not a plain lower-case identifier; use letters, digits "
                "and underscores",
                field="schema",
            )
        self.dsn = dsn
        self.schema = schema
        self._clock = clock
        self._min_size, self._max_size, self._timeout = min_size, max_size, timeout
        self._pool: AsyncConnectionPool[Conn] | None = None
        self.counters = StoreCounters()
        # Group commit: calls made while others run share one transaction; a few groups
        # run at once on pooled connections.
        self._pending: list[_Pending] = []
        self._flushers = 0
        self._max_flushers = max_size
        self._flush_tasks: set[asyncio.Task[None]] = set()
        """Calls and transactions since the store was made (every autocommit statement
        counts as a transaction: PostgreSQL runs each in one)."""
        self._open_lock = asyncio.Lock()
        self._version = 0
        self._deliveries = PostgresDeliveryRepository(self)
        self._dedupe = PostgresDedupeStore(self, ttl=dedupe_ttl)
        self._sync_states = PostgresSyncStateRepository(self)
        self._projections = PostgresProjectionRepository(self)
        self._intents = PostgresWriteIntentRepository(self)
        self._conflicts = PostgresConflictRepository(self)
        self._audit = PostgresAuditLog(self)
        self._leases = PostgresLeases(self)
        self._budgets = PostgresBudgets(self)
        self._validators = PostgresValidators(self)

    @property
    def path(self) -> str:
        """Where the store lives, without credentials (for messages)."""
        return f"{redact_dsn(self.dsn)} schema {self.schema}"

    def __repr__(self) -> str:
        state = "open" if self._pool is not None else "closed"
        return f"PostgresStateStore({self.path!r}, {state}, schema v{self._version})"

    # ------------------------------------------------------------------ facets

    @property
    def deliveries(self) -> PostgresDeliveryRepository:
        """Webhook delivery records and raw bodies."""
        return self._deliveries

    @property
    def dedupe(self) -> PostgresDedupeStore:
        """Duplicate-event marks."""
        return self._dedupe

    @property
    def sync_states(self) -> PostgresSyncStateRepository:
        """Sync stream checkpoints."""
        return self._sync_states

    @property
    def projections(self) -> PostgresProjectionRepository:
        """Projected external objects."""
        return self._projections

    @property
    def intents(self) -> PostgresWriteIntentRepository:
        """Write intents."""
        return self._intents

    @property
    def conflicts(self) -> PostgresConflictRepository:
        """Conflicts."""
        return self._conflicts

    @property
    def audit(self) -> PostgresAuditLog:
        """The audit stream."""
        return self._audit

    @property
    def leases(self) -> PostgresLeases:
        """Named leases (one backfill per stream across replicas)."""
        return self._leases

    @property
    def budgets(self) -> PostgresBudgets:
        """Rate-limit budgets shared by every process using the store."""
        return self._budgets

    @property
    def validators(self) -> PostgresValidators:
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
        """Create the schema if needed, migrate it and open the pool; idempotent.

        Raises :class:`~kradle_providers.store.errors.SchemaTooNew` for a
        schema written by a newer kradle-providers.
        """
        async with self._open_lock:
            if self._pool is not None:
                return self
            version = await self._migrate()
            pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
                self.dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=self._timeout,
                kwargs={"autocommit": True, "options": f"-c search_path={self.schema}"},
                open=False,
            )
            await pool.open(wait=True, timeout=self._timeout)
            self._pool, self._version = pool, version
            return self

    async def _migrate(self, migrations: Sequence[Migration] = PG_MIGRATIONS) -> int:
        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        try:
            ident = sql.Identifier(self.schema)
            async with conn.transaction():
                # hashtext: one lock per schema, so separate schemas migrate independently.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.schema,))
                await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
                await conn.execute(
                    sql.SQL("SET LOCAL search_path = {}").format(ident),
                )
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS kradle_schema (version INTEGER NOT NULL)"
                )
                cur = await conn.execute("SELECT version FROM kradle_schema")
                row = await cur.fetchone()
                current = 0 if row is None else int(row[0])
                if row is None:
                    await conn.execute("INSERT INTO kradle_schema VALUES (0)")
                if current > len(migrations):
                    raise SchemaTooNew(self.path, current, len(migrations))
                for step in migrations[current:]:
                    for statement in step.statements:
                        await conn.execute(statement.encode())
                    await conn.execute("UPDATE kradle_schema SET version = %s", (step.version,))
                    current = step.version
            return current
        finally:
            await conn.close()

    async def aclose(self) -> None:
        """Close the pool (waiting for calls in flight); idempotent."""
        async with self._open_lock:
            pool, self._pool = self._pool, None
            if pool is not None:
                await pool.close()

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

    async def transaction(self, fn: Callable[[Conn], Awaitable[T]], *, attempts: int = 5) -> T:
        """Run ``fn(connection)`` in one transaction; re-run it after a deadlock."""
        return await self._run(fn, attempts, transaction=True)

    async def _run(
        self, fn: Callable[[Conn], Awaitable[T]], attempts: int = 5, *, transaction: bool
    ) -> T:
        if self._pool is None:
            raise StoreClosed(self.path)
        self.counters.calls += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((fn, future, attempts, transaction))
        if self._flushers < self._max_flushers:
            self._flushers += 1
            task = asyncio.create_task(self._flush())
            self._flush_tasks.add(task)
            task.add_done_callback(self._flush_tasks.discard)
        result: T = await future
        return result

    async def _flush(self) -> None:
        """Run what is pending in groups, one transaction each, until nothing is."""
        try:
            while self._pending:
                group, self._pending = self._pending[:64], self._pending[64:]
                if len(group) > 1 and (
                    await self._run_group(group, savepoints=False)
                    or await self._run_group(group, savepoints=True)
                ):
                    continue
                for fn, future, attempts, transaction in group:  # alone, or the group failed
                    try:
                        result = await self._run_alone(fn, attempts, transaction=transaction)
                        _settle(future, result, None)
                    except Exception as exc:
                        _settle(future, None, exc)
        finally:
            self._flushers -= 1

    async def _run_group(self, group: list[_Pending], *, savepoints: bool) -> bool:
        """One transaction for the group; ``False`` (nothing committed) on failure.

        Without ``savepoints`` a call that raises fails the group (the caller runs it
        again with them): a savepoint per call costs two round trips, most of a
        group's driver work, for a rare case. With them it is rolled back alone.
        """
        pool = self._pool
        if pool is None:
            return False
        done: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            async with pool.connection() as conn, conn.transaction():
                for fn, future, _, _ in group:
                    if not savepoints:
                        done.append((future, await fn(conn), None))
                        continue
                    try:
                        async with conn.transaction():  # a savepoint: rolled back alone
                            done.append((future, await fn(conn), None))
                    except _RETRYABLE:
                        raise
                    except Exception as exc:
                        done.append((future, None, exc))
        except Exception:
            return False  # a call raised, deadlock, lost connection...
        self.counters.transactions += 1
        for future, result, error in done:
            _settle(future, result, error)
        return True

    async def _run_alone(
        self, fn: Callable[[Conn], Awaitable[T]], attempts: int, *, transaction: bool
    ) -> T:
        pool = self._pool
        if pool is None:
            raise StoreClosed(self.path)
        self.counters.transactions += 1
        for attempt in range(attempts):
            try:
                async with pool.connection() as conn:
                    if not transaction:  # one statement: atomic without BEGIN/COMMIT
                        return await fn(conn)
                    async with conn.transaction():
                        return await fn(conn)
            except _RETRYABLE:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # One statement is atomic on its own: no BEGIN/COMMIT round trips around it.

    async def fetchone(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """One row of one statement."""

        async def work(conn: Conn) -> tuple[Any, ...] | None:
            cur = await conn.execute(query.encode(), params)
            return await cur.fetchone()

        return await self._run(work, transaction=False)

    async def fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of one statement."""

        async def work(conn: Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(query.encode(), params)
            return await cur.fetchall()

        return await self._run(work, transaction=False)

    async def execute(self, query: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it changed."""

        async def work(conn: Conn) -> int:
            cur = await conn.execute(query.encode(), params)
            return cur.rowcount

        return await self._run(work, transaction=False)

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
        """Apply a page (objects, then deletions) and store ``state`` in one transaction."""
        now = self._clock()
        at, src = ts(now), ProjectionSource(source).value
        rows = [incoming_object(binding, obj, src, None, at) for obj in objects]
        rows += [
            incoming_deletion(binding, d.key, d.version, d.at or now, src, None, at)
            for d in deletions
        ]
        checkpoint = state_row(state)

        async def work(conn: Conn) -> list[ApplyOutcome]:
            outcomes = await apply_rows(conn, rows)
            await self._write_state(conn, checkpoint)
            return outcomes

        return await self.transaction(work)

    async def _write_state(self, conn: Conn, row: tuple[Any, ...]) -> None:
        # A method (not inlined) so tests can fail it to prove the page rolls back.
        await put_state(conn, row)
