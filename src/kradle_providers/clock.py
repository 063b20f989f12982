"""Time, one way for the whole library: the transport, emulators, sync and tests.

Two shapes of the same thing:

- :class:`Clock` is what the transport waits on: ``now()`` in epoch seconds
  and an awaitable ``sleep`` (backoff, Retry-After, rate-limit pacing);
- :data:`Now` is a plain reading of the time as an aware UTC datetime
  (emulators stamp objects with it, the sync engine dates records with it).

Every clock here is both: call it for a datetime, ask ``now()`` for seconds,
await ``sleep``. :class:`SystemClock` is real time; :class:`ManualClock`
moves only when told to (a sleep moves it too, and is recorded);
:class:`StepClock` moves one step per reading; :class:`SkippingClock` is
real time whose waits are skipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = [
    "Clock",
    "ManualClock",
    "Now",
    "SkippingClock",
    "StepClock",
    "SystemClock",
    "system_clock",
    "to_datetime",
]

Now = Callable[[], datetime]
"""Returns the current time as a timezone-aware UTC datetime."""


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time in epoch seconds and a way to wait."""

    def now(self) -> float:
        """Current time, seconds since the Unix epoch (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a non-positive value returns at once)."""
        ...


def to_datetime(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=UTC)


def system_clock() -> datetime:
    """The real current time (UTC)."""
    return datetime.now(UTC)


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("a clock needs an aware datetime; pass tzinfo=UTC")
    return when


class SystemClock:
    """The real clock: :func:`time.time` and :func:`asyncio.sleep`."""

    def now(self) -> float:
        """Current time, seconds since the Unix epoch."""
        return time.time()

    def __call__(self) -> datetime:
        return system_clock()

    async def sleep(self, seconds: float) -> None:
        """Really wait ``seconds``."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to: tests of windows, resets and backoff.

    ``start`` is an aware datetime or epoch seconds (default 2024-01-01 UTC).
    Sleeping advances time at once and is recorded in ``sleeps``, so a test
    can assert the exact spacing the transport chose; it still yields to the
    event loop, so concurrent tasks interleave as they would with real time.

    >>> clock = ManualClock(datetime(2024, 1, 1, tzinfo=UTC))
    >>> clock.advance(30).isoformat()
    '2024-01-01T00:00:30+00:00'
    """

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            start = datetime(2024, 1, 1, tzinfo=UTC)
        self._now = _aware(start).timestamp() if isinstance(start, datetime) else float(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The clock's time in epoch seconds."""
        return self._now

    def __call__(self) -> datetime:
        return to_datetime(self._now)

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move forward (time passing elsewhere, no sleep recorded); returns the new time."""
        delta = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if delta < 0:
            raise ValueError("a clock only moves forward; use set() to jump")
        self._now += delta
        return self()

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (aware datetime)."""
        self._now = _aware(when).timestamp()

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
        return f"ManualClock(now={self():%Y-%m-%dT%H:%M:%S}Z, sleeps={len(self.sleeps)})"


class StepClock:
    """A deterministic reading: ``start``, then ``start + step``, … one step per call."""

    def __init__(
        self,
        start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
        step: timedelta = timedelta(seconds=1),
    ) -> None:
        self._next = _aware(start)
        self._step = step

    def __call__(self) -> datetime:
        now = self._next
        self._next = now + self._step
        return now

    def now(self) -> float:
        """The time the next reading returns, in epoch seconds (reading it does not step)."""
        return self._next.timestamp()

    async def sleep(self, seconds: float) -> None:
        """Move the next reading on by ``seconds``."""
        self._next += timedelta(seconds=max(0.0, seconds))
        await asyncio.sleep(0)


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

    def __call__(self) -> datetime:
        return to_datetime(self.now())

    async def sleep(self, seconds: float) -> None:
        """Record the wait and return at once (still yielding to other tasks)."""
        if seconds > 0:
            self.skipped.append(seconds)
        await asyncio.sleep(0)
