"""Time as the transport sees it: a wall clock plus an awaitable sleep.

Every wait the transport makes (backoff, Retry-After, rate-limit pacing) goes
through a :class:`Clock`, so tests use :class:`FakeClock` and never really sleep.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SkippingClock", "SystemClock", "to_datetime"]


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time in epoch seconds and a way to wait."""

    def now(self) -> float:
        """Current time, seconds since the Unix epoch (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a non-positive value returns at once)."""
        ...


class SystemClock:
    """The real clock: :func:`time.time` and :func:`asyncio.sleep`."""

    def now(self) -> float:
        """Current time, seconds since the Unix epoch."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Really wait ``seconds``."""
        if seconds > 0:
            await asyncio.sleep(seconds)
        else:
            await asyncio.sleep(0)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock for tests: sleeping advances time at once and is recorded.

    ``sleeps`` lists every requested wait, in order, so a test can assert the
    exact spacing the transport chose. Sleeping still yields to the event loop,
    so concurrent tasks interleave as they would with real time.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The fake current time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (time passing elsewhere)."""
        self._now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance time by it, and yield to other tasks."""
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)

    @property
    def total_slept(self) -> float:
        """Sum of every recorded wait."""
        return sum(s for s in self.sleeps if s > 0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r}, sleeps={len(self.sleeps)})"


def to_datetime(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=UTC)


class SkippingClock:
    """Real time, but every wait is skipped instead of slept.

    ``now()`` is the wall clock plus everything skipped so far, so a caller
    sees the rate-limit reset it "waited" for as passed; ``skipped`` records
    the waits. For contract runs against emulators that keep real time.
    """

    def __init__(self) -> None:
        self.skipped: list[float] = []

    def now(self) -> float:
        """Wall-clock time plus the waits skipped so far."""
        return time.time() + sum(self.skipped)

    async def sleep(self, seconds: float) -> None:
        """Record the wait and return at once (still yielding to other tasks)."""
        if seconds > 0:
            self.skipped.append(seconds)
        await asyncio.sleep(0)
