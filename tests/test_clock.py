"""The one clock module: every clock is both a transport Clock and a datetime reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kradle_providers.clock import (
    Clock,
    ManualClock,
    SkippingClock,
    StepClock,
    SystemClock,
    to_datetime,
)


@pytest.mark.parametrize("make", [SystemClock, ManualClock, StepClock, SkippingClock])
async def test_every_clock_reads_as_seconds_and_as_an_aware_datetime(make: type) -> None:
    clock: Any = make()
    seconds = clock.now()
    reading = clock()
    assert reading.tzinfo is not None
    assert abs(reading.timestamp() - seconds) < 5
    await clock.sleep(0)
    assert isinstance(clock, Clock)


async def test_manual_clock_moves_only_when_told_and_records_sleeps() -> None:
    clock = ManualClock(1_700_000_000.0)
    assert clock() == to_datetime(1_700_000_000.0)
    await clock.sleep(2.5)
    await clock.sleep(-1)
    assert clock.sleeps == [2.5, -1] and clock.total_slept == 2.5
    assert clock.now() == 1_700_000_002.5
    assert clock.advance(timedelta(seconds=7.5)) == to_datetime(1_700_000_010.0)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2024, 1, 1))


async def test_step_clock_steps_per_reading_and_sleeps_move_it() -> None:
    clock = StepClock(datetime(2024, 1, 1, tzinfo=UTC), timedelta(seconds=2))
    assert [clock().second for _ in range(3)] == [0, 2, 4]
    await clock.sleep(10)
    assert clock().second == 16


async def test_skipping_clock_skips_waits_but_shows_them_passed() -> None:
    clock = SkippingClock()
    before = clock.now()
    await clock.sleep(3600)
    assert clock.skipped == [3600]
    assert clock.now() - before >= 3600
