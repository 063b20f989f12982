"""Projections: idempotent, version-ordered apply; tombstones; streaming; convergence."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import Interface, Version
from kradle_providers.store import ApplyOutcome, SqliteStateStore
from kradle_providers.store.ordering import Head, decide, encode_sort_key
from kradle_providers.sync.records import Deletion, ProjectionSource, SyncState
from tests.test_store_support import BINDING, T0, ManualClock, issue, issue_key, pipeline

Out = ApplyOutcome
WEB = ProjectionSource.WEBHOOK


async def test_apply_outcomes_follow_versions() -> None:
    async with SqliteStateStore() as store:
        p = store.projections
        assert await p.apply_object(BINDING, issue("1", minutes=5), source=WEB) is Out.INSERTED
        assert await p.apply_object(BINDING, issue("1", minutes=5), source=WEB) is Out.UNCHANGED
        newer = issue("1", minutes=6, title="Renamed")
        assert await p.apply_object(BINDING, newer, source=WEB, delivery_id="d6") is Out.UPDATED
        older = issue("1", minutes=4, title="Old")
        assert await p.apply_object(BINDING, older, source=WEB) is Out.STALE
        proj = await p.get(BINDING, issue_key("1"))
        assert proj is not None
        assert proj.canonical() == newer
        assert (proj.source, proj.last_delivery_id, proj.native_kind) == (WEB, "d6", "issue")
        assert proj.version == newer.external.version


async def test_sequence_orders_equal_timestamps() -> None:
    async with SqliteStateStore() as store:
        p = store.projections
        await p.apply_object(BINDING, issue("1", sequence=2, title="two"), source=WEB)
        assert await p.apply_object(BINDING, issue("1", sequence=1), source=WEB) is Out.STALE
        assert await p.apply_object(BINDING, issue("1", sequence=3), source=WEB) is Out.UPDATED


async def test_tombstone_ordering_and_resurrection() -> None:
    clock = ManualClock()
    async with SqliteStateStore(clock=clock) as store:
        p = store.projections
        await p.apply_object(BINDING, issue("1", minutes=10), source=WEB)
        old = Version(updated_at=T0 + timedelta(minutes=9))
        assert await p.tombstone(BINDING, issue_key("1"), version=old) is Out.STALE
        same = Version(updated_at=T0 + timedelta(minutes=10))
        assert await p.tombstone(BINDING, issue_key("1"), version=same) is Out.TOMBSTONED
        assert await p.count_by_kind() == {}
        proj = await p.get(BINDING, issue_key("1"))
        assert proj is not None and proj.tombstoned and proj.object is not None  # content kept
        # The same version again (a replay of the create) does not undo the deletion.
        assert await p.apply_object(BINDING, issue("1", minutes=10), source=WEB) is Out.STALE
        back = issue("1", minutes=11, title="Back")
        assert await p.apply_object(BINDING, back, source=WEB) is Out.RESURRECTED
        proj = await p.get(BINDING, issue_key("1"))
        assert proj is not None and not proj.tombstoned and proj.tombstoned_at is None
        assert proj.canonical() == back


async def test_deletion_seen_before_create_blocks_the_older_create() -> None:
    async with SqliteStateStore() as store:
        p = store.projections
        v = Version(updated_at=T0 + timedelta(minutes=3))
        assert await p.tombstone(BINDING, issue_key("9"), version=v) is Out.TOMBSTONED
        ghost = await p.get(BINDING, issue_key("9"))
        assert ghost is not None and ghost.object is None and ghost.tombstoned
        assert await p.apply_object(BINDING, issue("9", minutes=2), source=WEB) is Out.STALE
        assert await p.count_by_kind() == {}


async def test_unversioned_deletion_is_ordered_at_observation_time() -> None:
    clock = ManualClock(T0 + timedelta(hours=1))
    async with SqliteStateStore(clock=clock) as store:
        p = store.projections
        await p.apply_object(BINDING, issue("1", minutes=5), source=WEB)
        assert await p.tombstone(BINDING, issue_key("1")) is Out.TOMBSTONED
        proj = await p.get(BINDING, issue_key("1"))
        assert proj is not None and proj.version.updated_at == clock.now
        assert proj.tombstoned_at == clock.now


async def test_unversioned_objects_last_writer_wins() -> None:
    async with SqliteStateStore() as store:
        p = store.projections
        assert await p.apply_object(BINDING, issue("1", minutes=None), source=WEB) is Out.INSERTED
        b = issue("1", minutes=None, title="B")
        assert await p.apply_object(BINDING, b, source=WEB) is Out.UPDATED
        assert await p.apply_object(BINDING, b, source=WEB) is Out.UNCHANGED
        a_again = issue("1", minutes=None)
        assert await p.apply_object(BINDING, a_again, source=WEB) is Out.UPDATED
        # Once versioned, an unversioned state is stale.
        await p.apply_object(BINDING, issue("1", minutes=1), source=WEB)
        assert await p.apply_object(BINDING, b, source=WEB) is Out.STALE


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


async def test_apply_many_is_one_transaction_and_reports_in_order() -> None:
    async with SqliteStateStore() as store:
        p = store.projections
        await p.apply_object(BINDING, issue("2", minutes=5), source=WEB)
        page = [issue("1"), issue("2", minutes=4), issue("3"), issue("1")]
        outcomes = await p.apply_many(BINDING, page, source=ProjectionSource.BACKFILL)
        assert outcomes == [Out.INSERTED, Out.STALE, Out.INSERTED, Out.UNCHANGED]
        with pytest.raises(InvalidInput, match="canonical object"):
            await p.apply_many(BINDING, [issue("4"), "not an object"], source=WEB)  # type: ignore[list-item]
        assert await p.get(BINDING, issue_key("4")) is None


async def test_iter_projections_streams_pages_with_filters() -> None:
    async with SqliteStateStore() as store:
        p = store.projections
        await p.apply_many(BINDING, [issue(str(n)) for n in range(23)], source=WEB)
        await p.apply_many(BINDING, [pipeline("p1"), pipeline("p2")], source=WEB)
        await p.apply_object("other", issue("x"), source=WEB)
        await p.tombstone(BINDING, issue_key("5"), version=Version(updated_at=T0))

        calls = 0
        real_call = store.call

        async def counting(fn):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return await real_call(fn)

        store.call = counting  # type: ignore[method-assign]
        seen = [
            x.key.native_id
            async for x in p.iter_projections(kind="Issue", binding=BINDING, page_size=5)
        ]
        store.call = real_call  # type: ignore[method-assign]
        assert seen == [str(n) for n in range(23) if n != 5]
        assert calls == 5  # 22 rows in pages of 5: 5 queries (the last one short)

        with_dead = [x async for x in p.iter_projections(binding=BINDING, include_tombstoned=True)]
        assert len(with_dead) == 25
        cicd = [x.kind async for x in p.iter_projections(interface=Interface.CICD)]
        assert cicd == ["Pipeline", "Pipeline"]
        with pytest.raises(InvalidInput):
            _ = [x async for x in p.iter_projections(page_size=0)]

        assert await p.count_by_kind(BINDING) == {"cicd/Pipeline": 2, "issueTracking/Issue": 22}
        assert await p.count_by_kind() == {"cicd/Pipeline": 2, "issueTracking/Issue": 23}


async def test_purge_tombstones_forgets_old_deletions_only() -> None:
    async with SqliteStateStore() as store:
        p = store.projections
        await p.tombstone(BINDING, issue_key("1"), at=T0)
        await p.tombstone(BINDING, issue_key("2"), at=T0 + timedelta(days=2))
        assert await p.purge_tombstones(T0 + timedelta(days=1)) == 1
        assert await p.get(BINDING, issue_key("1")) is None
        assert await p.get(BINDING, issue_key("2")) is not None


async def test_concurrent_tasks_on_one_key_converge_to_newest() -> None:
    async with SqliteStateStore() as store:
        versions = list(range(40)) * 2
        random.Random(7).shuffle(versions)
        await asyncio.gather(
            *(
                store.projections.apply_object(
                    BINDING, issue("1", minutes=m, title=f"v{m}"), source=WEB
                )
                for m in versions
            )
        )
        proj = await store.projections.get(BINDING, issue_key("1"))
        assert proj is not None and proj.canonical() == issue("1", minutes=39, title="v39")


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
