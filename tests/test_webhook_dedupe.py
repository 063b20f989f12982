"""Dedupe store: atomic check-and-mark, TTL, bound, forget; event keys."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.models.base import Interface, ProviderRef
from kradle_providers.models.events import SyncEvent
from kradle_providers.webhooks.dedupe import DedupeStore, InMemoryDedupeStore, event_dedupe_key


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_check_and_mark() -> None:
    store = InMemoryDedupeStore()
    assert isinstance(store, DedupeStore)
    assert await store.seen_before("a") is False
    assert await store.seen_before("a") is True
    assert await store.seen_before("b") is False
    await store.forget("a")
    assert await store.seen_before("a") is False


async def test_ttl_expiry_with_injected_clock() -> None:
    clock = ManualClock()
    store = InMemoryDedupeStore(ttl=60, clock=clock)
    assert not await store.seen_before("k")
    clock.now += 59
    assert await store.seen_before("k")
    clock.now += 2
    assert not await store.seen_before("k")  # expired, and marked again
    assert len(store) == 1


async def test_bounded_size_evicts_oldest() -> None:
    store = InMemoryDedupeStore(max_entries=3)
    for k in "abcd":
        assert not await store.seen_before(k)
    assert len(store) == 3
    assert not await store.seen_before("a")  # evicted
    assert await store.seen_before("d")


async def test_concurrent_check_and_mark_admits_exactly_one() -> None:
    store = InMemoryDedupeStore()
    results = await asyncio.gather(*(store.seen_before("same") for _ in range(50)))
    assert results.count(False) == 1


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError):
        InMemoryDedupeStore(max_entries=0)
    with pytest.raises(ValueError):
        InMemoryDedupeStore(ttl=0)


def test_event_key_scoped_by_instance() -> None:
    ev = SyncEvent(
        provider=ProviderRef(type="github", instance="acme"),
        interface=Interface.ISSUE_TRACKING,
        object_kind="issue",
        action="updated",
        native_event="issues",
        native_action="edited",
        native_id="42",
        delivery_id="d1",
    )
    assert event_dedupe_key(ev) == "github/acme:d1:edited:42"
    assert event_dedupe_key(ev, instance="other") == "github/other:d1:edited:42"


@given(st.lists(st.sampled_from("abcdefgh"), max_size=60), st.integers(1, 8))
def test_property_matches_a_reference_model(keys: list[str], bound: int) -> None:
    store = InMemoryDedupeStore(max_entries=bound)
    # Reference: keys in first-mark order (a hit does not refresh), newest `bound` kept.
    order: list[str] = []
    for k in keys:
        expected = k in order
        assert store.check_and_mark(k) is expected
        if not expected:
            order.append(k)
            del order[:-bound]
    assert len(store) == len(order)
