"""Bounded fan-out (issue 16 item 5): order kept, the bound held, the first error surfaced."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kradle_providers.errors import RateLimited
from kradle_providers.http.fanout import FANOUT_LIMIT, bounded_gather


class Gauge:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    async def read(self, value: int, delay: float) -> int:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(delay)
        finally:
            self.now -= 1
        return value


@settings(max_examples=40, deadline=None)
@given(
    delays=st.lists(st.sampled_from([0.0, 0.001, 0.002]), max_size=30),
    limit=st.integers(min_value=1, max_value=10),
)
def test_results_keep_call_order_and_in_flight_never_exceeds_the_bound(
    delays: list[float], limit: int
) -> None:
    gauge = Gauge()
    calls: list[Callable[[], Awaitable[int]]] = [
        partial(gauge.read, i, d) for i, d in enumerate(delays)
    ]
    got = asyncio.run(bounded_gather(calls, limit=limit))
    assert got == list(range(len(delays)))
    assert gauge.peak <= limit
    if len(delays) >= limit and limit > 1 and all(delays):
        assert gauge.peak == limit  # the reads do overlap


async def test_the_context_limit_applies_when_none_is_given() -> None:
    gauge = Gauge()
    token = FANOUT_LIMIT.set(3)
    try:
        await bounded_gather([partial(gauge.read, i, 0.002) for i in range(12)])
    finally:
        FANOUT_LIMIT.reset(token)
    assert gauge.peak == 3


async def test_the_first_failure_propagates_unchanged_and_cancels_the_rest() -> None:
    finished: list[int] = []

    async def read(i: int) -> int:
        if i == 2:
            raise RateLimited("budget spent")
        await asyncio.sleep(0.05)
        finished.append(i)
        return i

    with pytest.raises(RateLimited, match="budget spent"):
        await bounded_gather([partial(read, i) for i in range(20)], limit=4)
    await asyncio.sleep(0.1)
    assert finished == []  # the reads in flight were cancelled, the others never started


async def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await bounded_gather([], limit=0)
