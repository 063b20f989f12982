"""Duplicate suppression for sync events.

Providers redeliver (retries, manual redelivery, at-least-once queues). A
:class:`DedupeStore` remembers which events were already handed to the host,
keyed by delivery id + native action + native object id
(:meth:`kradle_providers.models.events.SyncEvent.dedupe_key`), and answers
"seen before?" with an atomic check-and-mark.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from kradle_providers.models.events import SyncEvent

__all__ = ["DedupeStore", "InMemoryDedupeStore", "event_dedupe_key"]


def event_dedupe_key(event: SyncEvent, *, instance: str | None = None) -> str:
    """The dedupe key of ``event``, scoped to its provider instance.

    Scoping keeps two provider instances that reuse delivery ids apart.
    """
    scope = f"{event.provider.type}/{instance or event.provider.instance}"
    return f"{scope}:{event.dedupe_key()}"


@runtime_checkable
class DedupeStore(Protocol):
    """Remembers keys for a while; ``seen_before`` is check-and-mark in one step."""

    async def seen_before(self, key: str) -> bool:
        """True if ``key`` was marked (and not expired/forgotten); marks it either way."""
        ...

    async def forget(self, key: str) -> None:
        """Unmark ``key`` (its processing failed and will be retried)."""
        ...


class InMemoryDedupeStore:
    """A bounded, expiring :class:`DedupeStore` in process memory.

    Keeps at most ``max_entries`` keys (oldest evicted first) for ``ttl``
    seconds each, measured by ``clock`` (monotonic by default; inject a fake
    clock in tests).
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        ttl: float = 3 * 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if ttl <= 0:
            raise ValueError("ttl must be positive (seconds)")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> expiry, oldest first
        # Threads too (a host may share one store between loops): one lock.
        self._lock = threading.Lock()

    def check_and_mark(self, key: str) -> bool:
        """Synchronous :meth:`seen_before` (no await between check and mark)."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            expiry = self._seen.get(key)
            if expiry is not None and expiry > now:
                return True
            self._seen[key] = now + self.ttl
            if expiry is not None:  # a new key is appended last already
                self._seen.move_to_end(key)
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)
            return False

    async def seen_before(self, key: str) -> bool:
        """True if ``key`` was seen within the TTL; marks it seen."""
        return self.check_and_mark(key)

    async def forget(self, key: str) -> None:
        """Unmark ``key``."""
        with self._lock:
            self._seen.pop(key, None)

    def _expire(self, now: float) -> None:
        # Entries are in insertion order and share one TTL, so expiries ascend.
        while self._seen:
            key, expiry = next(iter(self._seen.items()))
            if expiry > now:
                break
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)
