"""The SQLite store's one thread: runs calls in order and commits them in groups.

Every call of a :class:`~kradle_providers.store.sqlite.SqliteStateStore` is a
function of the connection, queued to this thread. The thread takes everything
queued since its last pass (up to ``max_group``) and runs it inside one
``BEGIN IMMEDIATE … COMMIT``. A call that raises is rolled back alone, the
others commit: the group is rolled back and run again with each call in its
own savepoint (savepoints only then: each statement hands the GIL to the
event loop and back, so a call must be a function of the connection alone,
safe to run again). Results are handed back to the
event loop only after the ``COMMIT``, in one wake-up per group, so:

- each call stays atomic and durable (``synchronous`` as configured) once its
  awaitable returns, exactly as with one transaction per call;
- concurrent writers (many webhook deliveries at once) share commits and
  thread hops instead of paying one of each per call.

A group of one plain call (a read, or a single-statement write) runs as it
is, without a transaction, so readers never take the write lock alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kradle_providers.store.counters import StoreCounters

__all__ = ["StoreThread"]


@dataclass
class _Call:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    transactional: bool


_STOP = object()


def _deliver(done: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in done:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class StoreThread:
    """Owns the connection; runs queued calls in groups (see the module docstring)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, max_group: int = 64) -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn: sqlite3.Connection | None = None
        self.max_group = max_group
        self.counters = StoreCounters()
        self._thread = threading.Thread(target=self._run, name="kradle-store", daemon=True)
        self._ready: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Start the thread and connect; raises what connecting raised."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._loop = loop
        self._thread.start()
        await self._ready

    async def submit(self, fn: Callable[[sqlite3.Connection], Any], *, transactional: bool) -> Any:
        """Run ``fn(connection)`` on the thread; its result once committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Call(fn, future, loop, transactional))
        return await future

    async def stop(self) -> None:
        """Finish what is queued, close the connection, end the thread."""
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    # -- on the thread ----------------------------------------------------------------

    def _run(self) -> None:
        assert self._ready is not None
        try:
            self._conn = self._connect()
        except BaseException as exc:
            self._loop.call_soon_threadsafe(_fail, self._ready, exc)
            return
        self._loop.call_soon_threadsafe(_succeed, self._ready)
        conn = self._conn
        try:
            while True:
                group = [self._queue.get()]
                while len(group) < self.max_group:
                    try:
                        group.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = any(item is _STOP for item in group)
                calls = [item for item in group if item is not _STOP]
                if calls:
                    self._run_group(conn, calls)
                if stop:
                    return
        finally:
            conn.close()

    def _run_group(self, conn: sqlite3.Connection, calls: list[_Call]) -> None:
        self.counters.calls += len(calls)
        done: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        if len(calls) == 1 and not calls[0].transactional:
            call, before = calls[0], conn.total_changes
            try:
                done.append((call.future, call.fn(conn), None))
            except BaseException as exc:
                done.append((call.future, None, exc))
            if conn.total_changes != before:  # a write in autocommit: its own transaction
                self.counters.transactions += 1
        else:
            # Optimistic first: each savepoint costs two statements, and each statement a
            # hand-off of the GIL to and from the event loop's thread. A call that raises
            # (rare) rolls the group back and it runs again, each call in its own savepoint.
            done, raised = self._run_transaction(conn, calls, savepoints=False)
            if raised:
                done, _ = self._run_transaction(conn, calls, savepoints=True)
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for call, item in zip(calls, done, strict=True):
            by_loop.setdefault(call.loop, []).append(item)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_deliver, items)

    def _run_transaction(
        self, conn: sqlite3.Connection, calls: list[_Call], *, savepoints: bool
    ) -> tuple[list[tuple[asyncio.Future[Any], Any, BaseException | None]], bool]:
        """Run ``calls`` in one transaction: their outcomes, and whether one raised.

        Without ``savepoints`` the first call that raises rolls the whole group back
        (the caller runs it again with them)."""
        done: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            return [(c.future, None, exc) for c in calls], False
        for call in calls:
            if savepoints:
                conn.execute("SAVEPOINT call")
            try:
                result = call.fn(conn)
            except BaseException as exc:
                if not savepoints:
                    conn.execute("ROLLBACK")
                    return [(c.future, None, exc) for c in calls], True
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
                done.append((call.future, None, exc))
            else:
                if savepoints:
                    conn.execute("RELEASE call")
                done.append((call.future, result, None))
        try:
            conn.execute("COMMIT")
            self.counters.transactions += 1
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            done = [(future, None, exc) for future, _, _ in done]
        return done, False


def _succeed(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
