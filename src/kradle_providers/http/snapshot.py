"""Read snapshots: an identical GET asked again inside one scope is answered once.

A backfill run is one scope (:func:`read_snapshot`). Two kinds a vendor serves
from the same listing (GitLab's notes are comments and system events; its
pipeline jobs carry the artifacts) then cost one request, whichever stream or
hydration asks first, even when both are in flight at once. An answer is
reused once and then forgotten (a third ask sends again), and at most
``max_entries`` answers wait to be reused (the oldest go first), so memory stays
bounded however long the run. Reuse never crosses runs: the answer is as fresh
as the run that read it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["ReadSnapshot", "current_snapshot", "read_snapshot"]

Key = tuple[str, str, str, str]


class ReadSnapshot:
    """Answers of one scope by request identity, each reused at most once."""

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("ReadSnapshot.max_entries must be >= 1")
        self.max_entries = max_entries
        self._answers: OrderedDict[Key, asyncio.Future[Any]] = OrderedDict()

    def take(self, key: Key) -> asyncio.Future[Any] | None:
        """The answer (maybe still in flight) under ``key``, forgotten as it is taken."""
        return self._answers.pop(key, None)

    def start(self, key: Key) -> asyncio.Future[Any]:
        """Register the answer about to be read under ``key``."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._answers[key] = future
        done = [k for k, f in self._answers.items() if f.done()]
        for old in done[: max(0, len(self._answers) - self.max_entries)]:
            del self._answers[old]
        return future

    def drop(self, key: Key, future: asyncio.Future[Any]) -> None:
        """Forget ``future`` (its read failed: a later ask sends again)."""
        if self._answers.get(key) is future:
            del self._answers[key]

    def __len__(self) -> int:
        return len(self._answers)

    def __repr__(self) -> str:
        return f"ReadSnapshot(entries={len(self._answers)}, max_entries={self.max_entries})"


_SNAPSHOT: ContextVar[ReadSnapshot | None] = ContextVar("kradle_read_snapshot", default=None)


@contextmanager
def read_snapshot(max_entries: int = 1024) -> Iterator[ReadSnapshot]:
    """Within this block (and the tasks it starts), an identical conditional GET asked
    again shares the first answer (once)."""
    snapshot = ReadSnapshot(max_entries)
    token = _SNAPSHOT.set(snapshot)
    try:
        yield snapshot
    finally:
        _SNAPSHOT.reset(token)


def current_snapshot() -> ReadSnapshot | None:
    """The active snapshot, or None outside one."""
    return _SNAPSHOT.get()
