"""Bounded fan-out of independent reads (a page's children, the checks of its head commits).

A backfill hydrates every parent of a page and lists the checks of every new
head commit; an adapter crawling per-parent listings reads several parents'
pages. Each is an independent read, so they run concurrently, at most
:data:`FANOUT_LIMIT` at a time (the backfill sets it from
``BackfillOptions.concurrency``, so adapters follow it too). Results keep
the order of the calls, so what is applied does not depend on which answer
came first; the first failure cancels the others and is raised as is (a
``RateLimited`` stays a ``RateLimited``, and the page is read again from its
checkpoint).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import TypeVar

__all__ = ["DEFAULT_CONCURRENCY", "FANOUT_LIMIT", "bounded_gather"]

T = TypeVar("T")

DEFAULT_CONCURRENCY = 8
"""Reads in flight per stream unless configured otherwise."""

FANOUT_LIMIT: ContextVar[int] = ContextVar("kradle_fanout_limit", default=DEFAULT_CONCURRENCY)
"""How many reads :func:`bounded_gather` keeps in flight in the current context."""


async def bounded_gather(
    calls: Sequence[Callable[[], Awaitable[T]]], *, limit: int | None = None
) -> list[T]:
    """Run ``calls`` with at most ``limit`` (default :data:`FANOUT_LIMIT`) in flight.

    Returns the results in the order of ``calls``. When one raises, the
    others are cancelled and that exception propagates unchanged.
    """
    bound = limit if limit is not None else FANOUT_LIMIT.get()
    if bound < 1:
        raise ValueError(f"concurrency must be at least 1, got {bound}")
    if bound == 1 or len(calls) <= 1:
        return [await call() for call in calls]
    gate = asyncio.Semaphore(bound)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    tasks = [asyncio.ensure_future(one(call)) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
