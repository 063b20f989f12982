"""Projections: idempotent, version-ordered apply; tombstones; streaming; convergence."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kradle_providers.models.base import Interface, Version
from kradle_providers.store import ApplyOutcome, SqliteStateStore
from kradle_providers.store.ordering import Head, decide, encode_sort_key
from kradle_providers.sync.records import Deletion, ProjectionSource, SyncState
from tests.test_store_support import BINDING, T0, issue, issue_key

Out = ApplyOutcome
WEB = ProjectionSource.WEBHOOK


def test_decide_tie_break_is_order_independent() -> None:
    k = encode_sort_key((T0, -1))
    x, y = Head(k, False, "aaa"), Head(k, False, "bbb")
    assert decide(x, y) is Out.UPDATED and decide(y, x) is Out.STALE
    dead = Head(k, True, None)
    assert decide(x, dead) is Out.TOMBSTONED and decide(dead, x) is Out.STALE
    assert decide(dead, Head(k, True, "zzz")) is Out.UNCHANGED


def test_encode_sort_key_preserves_order() -> None:
    keys = [
        Version().sort_key(),
        Version(sequence=5).sort_key(),
        Version(updated_at=T0).sort_key(),
        Version(updated_at=T0, sequence=0).sort_key(),
        Version(updated_at=T0, sequence=10).sort_key(),
        Version(updated_at=T0 + timedelta(microseconds=1)).sort_key(),
        Version(updated_at=T0.replace(year=2100)).sort_key(),
    ]
    assert sorted(keys) == keys
    encoded = [encode_sort_key(k) for k in keys]
    assert sorted(encoded) == encoded and len(set(encoded)) == len(encoded)


# ----------------------------------------------------------------- convergence (property)

# One object's history: each step is a live state (title) or a deletion (None).
HISTORY = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=7)


def _event(step: int, title: str | None) -> tuple[str, int, str | None]:
    return ("1", step, title)


async def _apply_events(
    store: SqliteStateStore, events: list[tuple[str, int, str | None]], page_sizes: list[int]
) -> None:
    """Apply ``events`` singly or in pages through apply_page_and_checkpoint."""
    i = 0
    sizes = iter(page_sizes)
    state = SyncState(binding=BINDING, interface=Interface.ISSUE_TRACKING, kind="Issue")
    while i < len(events):
        size = next(sizes, 1)
        chunk = events[i : i + size]
        i += size
        if size == 1:
            native_id, step, title = chunk[0]
            if title is None:
                v = Version(updated_at=T0 + timedelta(minutes=step))
                await store.projections.tombstone(BINDING, issue_key(native_id), version=v)
            else:
                obj = issue(native_id, minutes=step, title=title)
                await store.projections.apply_object(BINDING, obj, source=WEB)
            continue
        # Within one page, objects are applied before deletions: order must not matter.
        objs = [issue(n, minutes=s, title=t) for n, s, t in chunk if t is not None]
        dels = [
            Deletion(key=issue_key(n), version=Version(updated_at=T0 + timedelta(minutes=s)))
            for n, s, t in chunk
            if t is None
        ]
        await store.apply_page_and_checkpoint(BINDING, objs, state, deletions=dels)


@given(
    history=HISTORY,
    data=st.data(),
)
def test_any_permutation_with_duplicates_converges_to_newest(
    history: list[str | None], data: st.DataObject
) -> None:
    events = [_event(step, title) for step, title in enumerate(history)]
    dupes = data.draw(st.lists(st.sampled_from(events), max_size=4), label="duplicates")
    order = data.draw(st.permutations(events + dupes), label="order")
    pages = data.draw(st.lists(st.integers(1, 4), max_size=6), label="page sizes")

    async def run() -> None:
        async with SqliteStateStore() as store:
            await _apply_events(store, order, pages)
            proj = await store.projections.get(BINDING, issue_key("1"))
            last_step = len(history) - 1
            newest = history[-1]
            assert proj is not None
            assert proj.version.updated_at == T0 + timedelta(minutes=last_step)
            if newest is None:
                assert proj.tombstoned
                assert await store.projections.count_by_kind() == {}
            else:
                assert not proj.tombstoned
                assert proj.canonical() == issue("1", minutes=last_step, title=newest)
                assert await store.projections.count_by_kind() == {"issueTracking/Issue": 1}

    asyncio.run(run())


@given(
    # Steps may repeat: equal versions with different content (or a deletion) tie.
    steps=st.lists(
        st.tuples(st.integers(0, 3), st.one_of(st.none(), st.sampled_from(["a", "b"]))),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_ties_converge_to_the_same_state_in_every_order(
    steps: list[tuple[int, str | None]], data: st.DataObject
) -> None:
    events = [("1", step, title) for step, title in steps]
    first = data.draw(st.permutations(events), label="first order")
    second = data.draw(st.permutations(events), label="second order")

    async def final(order: list[tuple[str, int, str | None]]) -> tuple[object, ...]:
        async with SqliteStateStore() as store:
            await _apply_events(store, order, [])
            proj = await store.projections.get(BINDING, issue_key("1"))
            assert proj is not None
            return (proj.tombstoned, proj.version, proj.object if not proj.tombstoned else None)

    async def run() -> None:
        assert await final(first) == await final(second)

    asyncio.run(run())


# One page: (native id, minutes, title or None for a deletion), duplicates allowed.
PAGE = st.lists(
    st.tuples(
        st.sampled_from(["1", "2", "3"]),
        st.integers(0, 3),
        st.one_of(st.none(), st.sampled_from(["a", "b"])),
    ),
    min_size=1,
    max_size=8,
)


# The schema fixture is shared by the examples on purpose (each uses its own binding).
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pages=st.lists(PAGE, min_size=1, max_size=3))
def test_postgres_page_apply_matches_one_by_one(pg_schema: str, pages: list[Any]) -> None:
    """PostgreSQL applies a page in bulk; outcomes and state equal SQLite's one-by-one."""
    from kradle_providers.store.postgres import PostgresStateStore
    from tests.postgres_support import DSN

    binding = f"b{uuid.uuid4().hex[:8]}"  # one binding per example: examples share the schema
    state = SyncState(binding=binding, interface=Interface.ISSUE_TRACKING, kind="Issue")

    async def run(store: Any) -> list[Any]:
        seen: list[Any] = []
        for page in pages:
            objs = [issue(n, minutes=m, title=t) for n, m, t in page if t is not None]
            dels = [
                Deletion(key=issue_key(n), version=Version(updated_at=T0 + timedelta(minutes=m)))
                for n, m, t in page
                if t is None
            ]
            seen.append(await store.apply_page_and_checkpoint(binding, objs, state, deletions=dels))
        async for proj in store.projections.iter_projections(
            binding=binding, include_tombstoned=True
        ):
            seen.append((proj.key.native_id, proj.tombstoned, proj.version, proj.object))
        return seen

    async def both() -> None:
        async with SqliteStateStore() as lite:
            expected = await run(lite)
        async with PostgresStateStore(DSN, schema=pg_schema, max_size=1) as pg:
            assert await run(pg) == expected

    asyncio.run(both())
