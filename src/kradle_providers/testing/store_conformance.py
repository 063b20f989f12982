"""The state-store conformance suite: every behaviour the sync engine relies on.

Run it against any :class:`~kradle_providers.store.protocol.StateStore`: the
embedded SQLite store, the PostgreSQL one, or a store a host writes on its own
database. Each check is an async function taking a :class:`StoreFactory`; give
each check a fresh, empty database::

    import pytest
    from kradle_providers.testing.store_conformance import CHECKS

    @pytest.mark.parametrize("check", CHECKS.values(), ids=list(CHECKS))
    async def test_my_store(check, my_factory):
        await check(my_factory)

A factory returns a new, *unopened* store each time it is called, every one on
the same database: checks open several at once to act as replicas. ``clock``
(when given) stamps records, leases and retry times; ``dedupe_ttl`` sets the
dedupe marks' lifetime.

Needs pytest (for ``pytest.raises``), as any test suite has.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.clock import ManualClock
from kradle_providers.errors import InvalidInput, NotFound, RateLimited
from kradle_providers.http.ratelimit import BudgetRegistry, RateLimitInfo
from kradle_providers.models.base import Interface, Version
from kradle_providers.store.claims import RECOVERED_NOTE, backfill_lease_name
from kradle_providers.store.errors import (
    DuplicateRecord,
    LeaseLost,
    PhaseMismatch,
    StoreClosed,
)
from kradle_providers.store.ordering import ApplyOutcome
from kradle_providers.store.protocol import (
    DeliveryClaims,
    DeliveryRepository,
    ExpiringDedupeStore,
    StateStore,
)
from kradle_providers.sync.phases import (
    BackfillPhase,
    ConflictPhase,
    DeliveryPhase,
    InvalidTransition,
    WriteIntentPhase,
)
from kradle_providers.sync.records import (
    AuditEvent,
    AuditOutcome,
    Deletion,
    ProjectionSource,
    Resolution,
    SyncState,
    WriteIntent,
)
from kradle_providers.testing.store_objects import (
    BINDING,
    T0,
    conflict,
    delivery,
    intent,
    issue,
    issue_key,
    pipeline,
)
from kradle_providers.webhooks.dedupe import DedupeStore
from kradle_providers.webhooks.deliveries import DeliveryRecord, DeliveryStore

__all__ = ["CHECKS", "Check", "StoreFactory", "run_all"]


class StoreFactory(Protocol):
    """Makes an unopened store on the check's database (each call: another replica)."""

    def __call__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        dedupe_ttl: timedelta | None = None,
    ) -> StateStore: ...


Check = Callable[[StoreFactory], Awaitable[None]]

CHECKS: dict[str, Check] = {}
"""Every check by name, in a stable order."""

Out = ApplyOutcome
WEB = ProjectionSource.WEBHOOK
D = DeliveryPhase
W = WriteIntentPhase
LEASE = timedelta(seconds=30)
CANARY = "store-conformance-canary-5f3a9c"


def check(fn: Check) -> Check:
    """Register ``fn`` under its name (without ``check_``)."""
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


async def run_all(fresh: Callable[[], Awaitable[StoreFactory]]) -> None:
    """Run every check, each on the database ``fresh()`` prepares."""
    for fn in CHECKS.values():
        await fn(await fresh())


def _state(**kw: object) -> SyncState:
    return SyncState(binding=BINDING, interface=Interface.ISSUE_TRACKING, kind="Issue", **kw)


# ----------------------------------------------------------------- lifecycle


@check
async def check_satisfies_the_protocols_and_refuses_calls_when_closed(
    make: StoreFactory,
) -> None:
    store = make()
    with pytest.raises(StoreClosed, match="not open"):
        await store.audit.count()
    async with store:
        assert await store.open() is store  # idempotent
        assert isinstance(store, StateStore)
        assert isinstance(store.deliveries, DeliveryStore)
        assert isinstance(store.deliveries, DeliveryRepository)
        assert isinstance(store.deliveries, DeliveryClaims)
        assert isinstance(store.dedupe, DedupeStore)
        assert isinstance(store.dedupe, ExpiringDedupeStore)
        assert await store.audit.count() == 0
    await store.aclose()  # idempotent
    with pytest.raises(StoreClosed):
        await store.projections.count_by_kind()


@check
async def check_data_survives_reopening(make: StoreFactory) -> None:
    async with make() as store:
        await store.projections.apply_object(BINDING, issue("1"), source=WEB)
    async with make() as again:
        assert await again.projections.count_by_kind() == {"issueTracking/Issue": 1}


# ----------------------------------------------------------------- projections


@check
async def check_apply_outcomes_follow_versions(make: StoreFactory) -> None:
    async with make() as store:
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
        # The key includes the binding.
        assert await p.get("another-binding", issue_key("1")) is None


@check
async def check_sequence_orders_equal_timestamps(make: StoreFactory) -> None:
    async with make() as store:
        p = store.projections
        await p.apply_object(BINDING, issue("1", sequence=2, title="two"), source=WEB)
        assert await p.apply_object(BINDING, issue("1", sequence=1), source=WEB) is Out.STALE
        assert await p.apply_object(BINDING, issue("1", sequence=3), source=WEB) is Out.UPDATED


@check
async def check_tombstone_ordering_and_resurrection(make: StoreFactory) -> None:
    async with make(clock=ManualClock(T0)) as store:
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


@check
async def check_deletion_seen_before_create_blocks_the_older_create(make: StoreFactory) -> None:
    async with make() as store:
        p = store.projections
        v = Version(updated_at=T0 + timedelta(minutes=3))
        assert await p.tombstone(BINDING, issue_key("9"), version=v) is Out.TOMBSTONED
        ghost = await p.get(BINDING, issue_key("9"))
        assert ghost is not None and ghost.object is None and ghost.tombstoned
        assert await p.apply_object(BINDING, issue("9", minutes=2), source=WEB) is Out.STALE
        assert await p.count_by_kind() == {}


@check
async def check_unversioned_deletion_is_ordered_at_observation_time(make: StoreFactory) -> None:
    clock = ManualClock(T0 + timedelta(hours=1))
    async with make(clock=clock) as store:
        p = store.projections
        await p.apply_object(BINDING, issue("1", minutes=5), source=WEB)
        assert await p.tombstone(BINDING, issue_key("1")) is Out.TOMBSTONED
        proj = await p.get(BINDING, issue_key("1"))
        assert proj is not None and proj.version.updated_at == clock()
        assert proj.tombstoned_at == clock()


@check
async def check_unversioned_objects_last_writer_wins(make: StoreFactory) -> None:
    async with make() as store:
        p = store.projections
        assert await p.apply_object(BINDING, issue("1", minutes=None), source=WEB) is Out.INSERTED
        b = issue("1", minutes=None, title="B")
        assert await p.apply_object(BINDING, b, source=WEB) is Out.UPDATED
        assert await p.apply_object(BINDING, b, source=WEB) is Out.UNCHANGED
        assert await p.apply_object(BINDING, issue("1", minutes=None), source=WEB) is Out.UPDATED
        # Once versioned, an unversioned state is stale.
        await p.apply_object(BINDING, issue("1", minutes=1), source=WEB)
        assert await p.apply_object(BINDING, b, source=WEB) is Out.STALE


@check
async def check_apply_many_is_one_transaction_and_reports_in_order(make: StoreFactory) -> None:
    async with make() as store:
        p = store.projections
        await p.apply_object(BINDING, issue("2", minutes=5), source=WEB)
        page = [issue("1"), issue("2", minutes=4), issue("3"), issue("1")]
        outcomes = await p.apply_many(BINDING, page, source=ProjectionSource.BACKFILL)
        assert outcomes == [Out.INSERTED, Out.STALE, Out.INSERTED, Out.UNCHANGED]
        with pytest.raises(InvalidInput, match="canonical object"):
            await p.apply_many(BINDING, [issue("4"), "not an object"], source=WEB)  # type: ignore[list-item]
        assert await p.get(BINDING, issue_key("4")) is None


@check
async def check_iter_projections_streams_pages_with_filters(make: StoreFactory) -> None:
    async with make() as store:
        p = store.projections
        await p.apply_many(BINDING, [issue(str(n)) for n in range(23)], source=WEB)
        await p.apply_many(BINDING, [pipeline("p1"), pipeline("p2")], source=WEB)
        await p.apply_object("other", issue("x"), source=WEB)
        await p.tombstone(BINDING, issue_key("5"), version=Version(updated_at=T0))
        seen = [
            x.key.native_id
            async for x in p.iter_projections(kind="Issue", binding=BINDING, page_size=5)
        ]
        assert seen == [str(n) for n in range(23) if n != 5]  # insertion order, no repeats
        with_dead = [x async for x in p.iter_projections(binding=BINDING, include_tombstoned=True)]
        assert len(with_dead) == 25
        cicd = [x.kind async for x in p.iter_projections(interface=Interface.CICD)]
        assert cicd == ["Pipeline", "Pipeline"]
        with pytest.raises(InvalidInput):
            _ = [x async for x in p.iter_projections(page_size=0)]
        assert await p.count_by_kind(BINDING) == {"cicd/Pipeline": 2, "issueTracking/Issue": 22}
        assert await p.count_by_kind() == {"cicd/Pipeline": 2, "issueTracking/Issue": 23}


@check
async def check_purge_tombstones_forgets_old_deletions_only(make: StoreFactory) -> None:
    async with make() as store:
        p = store.projections
        await p.tombstone(BINDING, issue_key("1"), at=T0)
        await p.tombstone(BINDING, issue_key("2"), at=T0 + timedelta(days=2))
        assert await p.purge_tombstones(T0 + timedelta(days=1)) == 1
        assert await p.get(BINDING, issue_key("1")) is None
        assert await p.get(BINDING, issue_key("2")) is not None


@check
async def check_concurrent_replicas_on_one_key_converge_to_newest(make: StoreFactory) -> None:
    versions = list(range(30)) * 2
    random.Random(7).shuffle(versions)
    async with make() as a, make() as b:
        await asyncio.gather(
            *(
                (a if i % 2 else b).projections.apply_object(
                    BINDING, issue("1", minutes=m, title=f"v{m}"), source=WEB
                )
                for i, m in enumerate(versions)
            ),
            # Pages touching the same keys in opposite orders must not deadlock for good.
            a.projections.apply_many(BINDING, [issue(str(n)) for n in range(2, 40)], source=WEB),
            b.projections.apply_many(
                BINDING, [issue(str(n)) for n in reversed(range(2, 40))], source=WEB
            ),
        )
        for store in (a, b):
            proj = await store.projections.get(BINDING, issue_key("1"))
            assert proj is not None and proj.canonical() == issue("1", minutes=29, title="v29")
            assert await store.projections.count_by_kind() == {"issueTracking/Issue": 39}


# ----------------------------------------------------------------- pages and checkpoints


@check
async def check_page_and_checkpoint_apply_together_and_replay_idempotently(
    make: StoreFactory,
) -> None:
    async with make() as store:
        page = [issue(str(n)) for n in range(5)]
        dead = [issue_key("4")]
        deletions = [Deletion(key=k, version=Version(updated_at=T0)) for k in dead]
        out = await store.apply_page_and_checkpoint(
            BINDING, page, _state(cursor="1"), deletions=deletions
        )
        again = await store.apply_page_and_checkpoint(
            BINDING, page, _state(cursor="1"), deletions=deletions
        )
        assert out == [Out.INSERTED] * 5 + [Out.TOMBSTONED]
        assert set(again) == {Out.UNCHANGED, Out.STALE}
        assert await store.projections.count_by_kind() == {"issueTracking/Issue": 4}
        got = await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue")
        assert got is not None and got.cursor == "1"


@check
async def check_sync_states_get_put_find(make: StoreFactory) -> None:
    async with make() as store:
        assert await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue") is None
        a = SyncState(binding=BINDING, interface=Interface.ISSUE_TRACKING, kind="Issue", scope="a")
        b = SyncState(binding="other", interface=Interface.CICD, kind="Pipeline")
        await store.sync_states.put(a)
        await store.sync_states.put(b)
        listing = a.advance(BackfillPhase.LISTING, at=T0).model_copy(update={"cursor": "n2"})
        await store.sync_states.put(listing)
        got = await store.sync_states.get(BINDING, Interface.ISSUE_TRACKING, "Issue", "a")
        assert got == listing
        assert await store.sync_states.find(binding=BINDING) == [listing]
        assert [s.binding for s in await store.sync_states.find()] == [BINDING, "other"]


# ----------------------------------------------------------------- deliveries


@check
async def check_deliveries_store_bodies_enforce_phases_and_count(make: StoreFactory) -> None:
    async with make(clock=ManualClock(T0)) as store:
        first, second = delivery("d1", minutes=1), delivery("d2", minutes=0)
        await store.deliveries.add(first, b"raw-1")
        await store.deliveries.add(second)
        with pytest.raises(DuplicateRecord):
            await store.deliveries.add(first)
        assert await store.deliveries.get(first.id) == first
        assert await store.deliveries.get_body(first.id) == b"raw-1"
        assert await store.deliveries.get_body(second.id) is None
        with pytest.raises(NotFound):
            await store.deliveries.get("missing")
        received = await store.deliveries.list_by_phase(D.RECEIVED)
        assert [r.id for r in received] == [second.id, first.id]  # oldest first
        queued = await store.deliveries.update_phase(first.id, D.QUEUED)
        assert queued.phase is D.QUEUED
        with pytest.raises(InvalidTransition):
            await store.deliveries.update_phase(first.id, D.SUCCEEDED)
        await store.deliveries.update_phase(second.id, D.SIGNATURE_REJECTED)
        with pytest.raises(InvalidTransition):  # a rejected delivery is never processed
            await store.deliveries.update_phase(second.id, D.QUEUED)
        assert await store.deliveries.count_by_phase() == {D.QUEUED: 1, D.SIGNATURE_REJECTED: 1}
        stored = await store.deliveries.get(first.id)
        assert [h.phase for h in stored.history] == [D.RECEIVED, D.QUEUED]
        assert "authorization" not in stored.headers
        found = await store.deliveries.find_by_delivery_id("acme", "d1")
        assert [r.id for r in found] == [first.id]


@check
async def check_dead_letter_replay_needs_explicit_action(make: StoreFactory) -> None:
    async with make() as store:
        rec = delivery()
        await store.deliveries.add(rec, b"{}")
        for phase in (D.QUEUED, D.NORMALIZING, D.DEAD_LETTERED):
            await store.deliveries.update_phase(rec.id, phase, error="boom")
        with pytest.raises(InvalidTransition, match="explicit"):
            await store.deliveries.update_phase(rec.id, D.QUEUED)
        replayed = await store.deliveries.update_phase(rec.id, D.QUEUED, explicit=True)
        assert replayed.attempts == 1 and replayed.error == "boom"


async def _queued(store: StateStore, n: int, *, prefix: str = "d") -> list[DeliveryRecord]:
    records = [delivery(f"{prefix}{i}", minutes=i) for i in range(n)]
    for rec in records:
        await store.deliveries.add(rec, b"{}")
        await store.deliveries.update_phase(rec.id, D.QUEUED)
    return records


@check
async def check_delivery_claims_are_exclusive_until_the_lease_expires(make: StoreFactory) -> None:
    clock = ManualClock(T0)
    async with make(clock=clock) as store:
        deliveries = store.deliveries
        first, second = await _queued(store, 2)
        got = await deliveries.claim("w1", lease=LEASE)
        assert [r.id for r in got] == [first.id]  # oldest first
        assert [r.id for r in await deliveries.claim("w2", lease=LEASE, limit=5)] == [second.id]
        assert await deliveries.claim("w3", lease=LEASE) == []
        moved = await deliveries.advance_claimed(first.id, "w1", D.NORMALIZING)
        assert moved.attempts == 1
        with pytest.raises(LeaseLost, match="another worker"):
            await deliveries.advance_claimed(first.id, "w2", D.PROCESSING)
        assert await deliveries.renew(first.id, "w1", lease=LEASE)
        assert not await deliveries.renew(first.id, "w2", lease=LEASE)
        clock.advance(timedelta(seconds=20))
        assert await deliveries.claim("w3", lease=LEASE) == []  # renewed at +0 for 30 s
        clock.advance(timedelta(seconds=11))
        # w1 died in Normalizing and w2 in Queued: both are taken over.
        taken = await deliveries.claim("w3", lease=LEASE, limit=5)
        assert [r.id for r in taken] == [first.id, second.id]
        assert all(r.phase is D.QUEUED for r in taken)
        assert [h.phase for h in taken[0].history][-3:] == [D.NORMALIZING, D.RETRYING, D.QUEUED]
        assert taken[0].history[-2].note == RECOVERED_NOTE
        with pytest.raises(LeaseLost):
            await deliveries.advance_claimed(first.id, "w1", D.PROCESSING)
        for rec in taken:
            await deliveries.advance_claimed(rec.id, "w3", D.NORMALIZING)
            await deliveries.advance_claimed(rec.id, "w3", D.SUCCEEDED)
        clock.advance(timedelta(hours=1))
        assert await deliveries.claim("w4", lease=LEASE, limit=5) == []  # finished for good
        assert (await deliveries.get(first.id)).attempts == 2


@check
async def check_claim_started_takes_deliveries_on_to_normalizing_with_their_bodies(
    make: StoreFactory,
) -> None:
    clock = ManualClock(T0)
    async with make(clock=clock) as store:
        deliveries = store.deliveries
        first, second = await _queued(store, 2)
        ((started, body),) = await deliveries.claim_started("w1", lease=LEASE)
        assert started.id == first.id and body == b"{}"
        assert started.phase is D.NORMALIZING and started.attempts == 1
        assert await deliveries.get(first.id) == started
        # Several moves in memory, stored in one fenced write.
        done = started.advance(D.PROCESSING, at=clock(), action="opened").advance(
            D.SUCCEEDED, at=clock(), note="1 event(s) handled"
        )
        with pytest.raises(LeaseLost):
            await deliveries.save_claimed(done, "w2", was=D.NORMALIZING)
        with pytest.raises(LeaseLost):  # the stored phase is not the one the worker built on
            await deliveries.save_claimed(done, "w1", was=D.PROCESSING)
        await deliveries.save_claimed(done, "w1", was=D.NORMALIZING)
        assert await deliveries.get(first.id) == done
        with pytest.raises(LeaseLost):  # Succeeded ended the claim
            await deliveries.save_claimed(done, "w1", was=D.SUCCEEDED)
        # A worker that died in Normalizing: recovered through Retrying, an attempt each.
        ((again, _),) = await deliveries.claim_started("w1", lease=LEASE)
        assert again.id == second.id
        clock.advance(timedelta(seconds=31))
        ((recovered, body),) = await deliveries.claim_started("w3", lease=LEASE)
        assert recovered.id == second.id and body == b"{}" and recovered.attempts == 2
        assert [h.phase for h in recovered.history][-3:] == [D.RETRYING, D.QUEUED, D.NORMALIZING]
        assert recovered.history[-3].note == RECOVERED_NOTE
        retry_at = clock() + timedelta(minutes=5)
        retrying = recovered.advance(D.RETRYING, at=clock(), error="handler raised")
        await deliveries.save_claimed(retrying, "w3", was=D.NORMALIZING, retry_at=retry_at)
        assert await deliveries.claim_started("w4", lease=LEASE) == []
        clock.advance(timedelta(minutes=5))
        ((last, _),) = await deliveries.claim_started("w4", lease=LEASE)
        assert last.attempts == 3 and last.error == "handler raised"


@check
async def check_retry_times_are_stored_not_slept(make: StoreFactory) -> None:
    clock = ManualClock(T0)
    async with make(clock=clock) as store:
        deliveries = store.deliveries
        (rec,) = await _queued(store, 1)
        await deliveries.claim("w1", lease=LEASE)
        await deliveries.advance_claimed(rec.id, "w1", D.NORMALIZING)
        await deliveries.advance_claimed(rec.id, "w1", D.PROCESSING)
        retry_at = clock() + timedelta(minutes=5)
        retrying = await deliveries.advance_claimed(
            rec.id, "w1", D.RETRYING, error="handler raised", retry_at=retry_at
        )
        assert retrying.phase is D.RETRYING
        clock.advance(timedelta(minutes=4, seconds=59))
        assert await deliveries.claim("w2", lease=LEASE) == []
        clock.advance(timedelta(seconds=1))
        (again,) = await deliveries.claim("w2", lease=LEASE)
        assert again.phase is D.QUEUED and again.history[-1].note == "retry"
        assert again.error == "handler raised"


@check
async def check_deliveries_left_in_flight_are_recovered(make: StoreFactory) -> None:
    clock = ManualClock(T0)
    async with make(clock=clock) as store:
        deliveries = store.deliveries
        never_queued = delivery("received", minutes=0)
        await deliveries.add(never_queued, b"{}")
        (processing,) = await _queued(store, 1, prefix="p")
        await deliveries.update_phase(processing.id, D.NORMALIZING)  # an unclaimed worker
        await deliveries.update_phase(processing.id, D.PROCESSING)
        rejected = delivery("rejected", minutes=2)
        await deliveries.add(rejected)
        await deliveries.update_phase(rejected.id, D.SIGNATURE_REJECTED)
        assert await deliveries.claim("w", lease=LEASE, limit=9) == []  # intake grace
        clock.advance(timedelta(minutes=5))
        got = {r.delivery_id: r for r in await deliveries.claim("w", lease=LEASE, limit=9)}
        assert set(got) == {"received", "p0"}
        assert got["received"].history[-1].note == "recovered: never queued"
        assert got["p0"].history[-2].note == RECOVERED_NOTE


@check
async def check_replicas_claim_each_delivery_once(make: StoreFactory) -> None:
    async with make() as a, make() as b:
        records = await _queued(a, 40)
        taken: list[str] = []

        async def worker(store: StateStore, name: str) -> None:
            while batch := await store.deliveries.claim(name, lease=LEASE, limit=3):
                for rec in batch:
                    taken.append(rec.id)
                    await store.deliveries.advance_claimed(rec.id, name, D.NORMALIZING)
                    await store.deliveries.advance_claimed(rec.id, name, D.SUCCEEDED)

        await asyncio.gather(
            *(worker(s, f"{s_i}-{i}") for s_i, s in enumerate((a, b)) for i in range(3))
        )
        assert sorted(taken) == sorted(r.id for r in records)
        assert await b.deliveries.count_by_phase() == {D.SUCCEEDED: 40}


# ----------------------------------------------------------------- dedupe


@check
async def check_dedupe_check_and_mark_with_ttl_and_forget(make: StoreFactory) -> None:
    clock = ManualClock(T0)
    async with make(clock=clock, dedupe_ttl=timedelta(hours=1)) as store:
        assert await store.dedupe.seen_before("k") is False
        assert await store.dedupe.seen_before("k") is True
        await store.dedupe.forget("k")
        assert await store.dedupe.seen_before("k") is False
        clock.advance(timedelta(minutes=59))
        assert await store.dedupe.seen_before("k") is True
        clock.advance(timedelta(minutes=2))
        assert await store.dedupe.seen_before("k") is False  # expired, marked afresh
        assert await store.dedupe.seen_before("other") is False
        clock.advance(timedelta(hours=2))
        assert await store.dedupe.purge_expired() == 2


@check
async def check_dedupe_is_atomic_across_replicas(make: StoreFactory) -> None:
    async with make() as a, make() as b:
        results = await asyncio.gather(
            *((a if i % 2 else b).dedupe.seen_before("same") for i in range(20))
        )
        assert sorted(results) == [False] + [True] * 19


# ----------------------------------------------------------------- write intents


@check
async def check_intent_create_get_find_and_idempotency_key(make: StoreFactory) -> None:
    async with make() as store:
        a = await store.intents.create(intent("k1"))
        b = await store.intents.create(intent("k2", binding="other"))
        assert await store.intents.get(a.id) == a
        assert await store.intents.find_by_idempotency_key("k2") == b
        assert await store.intents.find_by_idempotency_key("nope") is None
        with pytest.raises(DuplicateRecord, match="find_by_idempotency_key"):
            await store.intents.create(intent("k1"))
        with pytest.raises(NotFound):
            await store.intents.get("missing")
        assert [i.id for i in await store.intents.find()] == [a.id, b.id]
        assert await store.intents.find(binding="other") == [b]
        assert await store.intents.find(phase=W.READY_TO_SEND) == []
        assert len(await store.intents.find(limit=1)) == 1


@check
async def check_intent_lifecycle_through_the_store(make: StoreFactory) -> None:
    clock = ManualClock(T0)
    async with make(clock=clock) as store:
        w = await store.intents.create(intent())
        with pytest.raises(InvalidTransition, match="explicit"):
            await store.intents.advance(w.id, W.READY_TO_SEND)
        await store.intents.save(w.approve("bob", at=T0), expected_phase=W.PENDING_APPROVAL)
        clock.advance(timedelta(seconds=5))
        sending = await store.intents.advance(
            w.id, W.SENDING, expected_phase=W.READY_TO_SEND, request_digest="req"
        )
        assert sending.attempts == 1 and sending.updated_at == clock()
        done = await store.intents.advance(w.id, W.SUCCEEDED, response_digest="resp")
        assert (await store.intents.get(w.id)) == done
        assert [h.phase for h in done.history] == [
            W.PENDING_APPROVAL,
            W.READY_TO_SEND,
            W.SENDING,
            W.SUCCEEDED,
        ]
        assert await store.intents.find(phase=W.SUCCEEDED) == [done]
        with pytest.raises(InvalidTransition):
            await store.intents.advance(w.id, W.SENDING)


@check
async def check_two_replicas_cannot_both_send_the_same_intent(make: StoreFactory) -> None:
    async with make() as a, make() as b:
        w = await a.intents.create(intent())
        await a.intents.save(w.approve("bob"), expected_phase=W.PENDING_APPROVAL)
        results = await asyncio.gather(
            *(
                (a if i % 2 else b).intents.advance(w.id, W.SENDING, expected_phase=W.READY_TO_SEND)
                for i in range(6)
            ),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, WriteIntent)]
        losers = [r for r in results if isinstance(r, PhaseMismatch)]
        assert len(winners) == 1 and len(losers) == 5, results
        assert "another worker" in str(losers[0])
        assert (await b.intents.get(w.id)).attempts == 1


@check
async def check_intent_save_is_compare_and_set_and_checks_the_move(make: StoreFactory) -> None:
    async with make() as store:
        w = await store.intents.create(intent())
        approved = w.approve("bob")
        await store.intents.save(approved, expected_phase=W.PENDING_APPROVAL)
        with pytest.raises(PhaseMismatch):
            await store.intents.save(w.reject("carol"), expected_phase=W.PENDING_APPROVAL)
        forged = approved.model_copy(update={"phase": W.AWAITING_CONFIRMATION})
        with pytest.raises(InvalidInput, match="history ends at ReadyToSend"):
            await store.intents.save(forged, expected_phase=W.READY_TO_SEND)
        entry = approved.history[-1].model_copy(update={"phase": W.AWAITING_CONFIRMATION})
        illegal = forged.model_copy(update={"history": (*approved.history, entry)})
        with pytest.raises(InvalidTransition):
            await store.intents.save(illegal, expected_phase=W.READY_TO_SEND)
        rewritten = approved.model_copy(update={"history": approved.history[1:]})
        with pytest.raises(InvalidInput, match="append-only"):
            await store.intents.save(rewritten, expected_phase=W.READY_TO_SEND)
        renamed = approved.model_copy(update={"idempotency_key": "other"})
        with pytest.raises(InvalidInput, match="never change"):
            await store.intents.save(renamed, expected_phase=W.READY_TO_SEND)
        with pytest.raises(NotFound):
            await store.intents.save(intent("new"), expected_phase=W.PENDING_APPROVAL)


@check
async def check_intent_conflict_link_must_exist_and_conflicts_cycle(make: StoreFactory) -> None:
    async with make() as store:
        w = await store.intents.create(intent())
        await store.intents.save(w.approve("bob"), expected_phase=W.PENDING_APPROVAL)
        await store.intents.advance(w.id, W.SENDING)
        with pytest.raises(InvalidInput, match="create the conflict first"):
            await store.intents.advance(w.id, W.CONFLICT, conflict_id="ghost")
        assert (await store.intents.get(w.id)).phase is W.SENDING  # rolled back
        c = await store.conflicts.create(conflict(w.id))
        with pytest.raises(DuplicateRecord):
            await store.conflicts.create(c)
        linked = await store.intents.advance(w.id, W.CONFLICT, conflict_id=c.id)
        assert linked.conflict_id == c.id
        assert await store.conflicts.get(c.id) == c
        assert await store.conflicts.find(phase=ConflictPhase.OPEN) == [c]
        resolved = c.resolve(Resolution.PREFER_LOCAL, by="alice")
        await store.conflicts.save(resolved, expected_phase=ConflictPhase.OPEN)
        with pytest.raises(PhaseMismatch):
            await store.conflicts.save(resolved, expected_phase=ConflictPhase.OPEN)
        assert await store.conflicts.find(phase=ConflictPhase.OPEN) == []
        assert await store.conflicts.find(phase=ConflictPhase.RESOLVED, binding=BINDING) == [
            resolved
        ]
        forged = resolved.model_copy(update={"phase": ConflictPhase.OPEN})
        with pytest.raises(InvalidInput):
            await store.conflicts.save(forged, expected_phase=ConflictPhase.RESOLVED)
        with pytest.raises(NotFound):
            await store.conflicts.get("missing")


@check
async def check_intent_send_claims_are_exclusive_and_expire(make: StoreFactory) -> None:
    clock = ManualClock(T0)
    async with make(clock=clock) as a, make(clock=clock) as b:
        pending = await a.intents.create(intent("pending"))
        ready = await a.intents.create(intent("ready"))
        await a.intents.save(ready.approve("bob"), expected_phase=W.PENDING_APPROVAL)
        claims = await asyncio.gather(
            *((a if i % 2 else b).intents.claim(f"w{i}", lease=LEASE) for i in range(6))
        )
        won = [(i, c) for i, c in enumerate(claims) if c]
        assert len(won) == 1 and [x.id for x in won[0][1]] == [ready.id]  # never pending
        holder = f"w{won[0][0]}"
        await a.intents.advance(ready.id, W.SENDING, expected_phase=W.READY_TO_SEND)
        assert await b.intents.claim("late", lease=LEASE) == []
        assert await a.intents.renew(ready.id, holder, lease=LEASE)
        assert not await a.intents.renew(ready.id, "late", lease=LEASE)
        clock.advance(timedelta(seconds=31))
        # The holder died while Sending: another worker takes it to find out what happened.
        (taken,) = await b.intents.claim("rescuer", lease=LEASE)
        assert taken.id == ready.id and taken.phase is W.SENDING
        assert not await a.intents.renew(ready.id, holder, lease=LEASE)
        await b.intents.advance(ready.id, W.SUCCEEDED, response_digest="read-back")
        await b.intents.release(ready.id, "rescuer")
        clock.advance(timedelta(hours=1))
        assert await a.intents.claim("any", lease=LEASE, limit=9) == []
        assert (await a.intents.get(pending.id)).phase is W.PENDING_APPROVAL


# ----------------------------------------------------------------- audit


@check
async def check_audit_ids_are_monotonic_and_filtered(make: StoreFactory) -> None:
    async with make() as store:
        events = [
            AuditEvent(actor="alice", action="updateIssue", binding=BINDING, at=T0),
            AuditEvent(actor="bob", action="createComment", binding="other", at=T0),
            AuditEvent(actor="alice", action="closeIssue", binding=BINDING, at=T0),
        ]
        stored = [await store.audit.append(e) for e in events]
        ids = [e.id or 0 for e in stored]
        assert ids == sorted(ids) and len(set(ids)) == 3 and 0 not in ids
        assert await store.audit.count() == 3
        assert await store.audit.count(binding=BINDING) == 2
        mine = await store.audit.find(binding=BINDING)
        assert [e.action for e in mine] == ["updateIssue", "closeIssue"]
        after = await store.audit.find(after_id=ids[0])
        assert [e.id for e in after] == ids[1:]
        assert await store.audit.find(after_id=ids[0], limit=1) == [stored[1]]


@check
async def check_audit_appends_from_replicas_get_distinct_increasing_ids(
    make: StoreFactory,
) -> None:
    async with make() as a, make() as b:
        appended = await asyncio.gather(
            *(
                (a if i % 2 else b).audit.append(
                    AuditEvent(actor=f"r{i % 2}", action=f"a{i}", binding=BINDING, at=T0)
                )
                for i in range(30)
            )
        )
        ids = [e.id or 0 for e in appended]
        assert len(set(ids)) == 30 and 0 not in ids
        listed = await a.audit.find()
        assert [e.id for e in listed] == sorted(ids)


@check
async def check_audit_re_redacts_secrets_at_storage_time(make: StoreFactory) -> None:
    # The secret becomes known only after the event was built: storage re-redacts.
    event = AuditEvent(
        actor="agent",
        action="updateIssue",
        outcome=AuditOutcome.FAILED,
        target="acme/widgets",
        details={"response": f"401: bad credential {CANARY}", "nested": [{"x": CANARY}]},
    )
    Secret(CANARY)
    async with make() as store:
        saved = await store.audit.append(event)
        (listed,) = await store.audit.find()
    assert CANARY not in saved.model_dump_json() + listed.model_dump_json()
    assert listed.details["response"] == "401: bad credential ***"


# ----------------------------------------------------------------- leases


@check
async def check_leases_have_one_holder_and_are_taken_over_after_expiry(
    make: StoreFactory,
) -> None:
    clock = ManualClock(T0)
    name = backfill_lease_name(BINDING, "issueTracking", "Issue")
    async with make(clock=clock) as a, make(clock=clock) as b:
        wins = await asyncio.gather(
            *((a if i % 2 else b).leases.acquire(name, f"r{i}", ttl=LEASE) for i in range(6))
        )
        assert wins.count(True) == 1
        holder = f"r{wins.index(True)}"
        assert await b.leases.holder(name) == holder
        assert await a.leases.acquire(name, holder, ttl=LEASE)  # re-entrant
        clock.advance(timedelta(seconds=20))
        assert await a.leases.renew(name, holder, ttl=LEASE)  # heartbeat
        clock.advance(timedelta(seconds=20))
        assert not await b.leases.acquire(name, "other", ttl=LEASE)
        clock.advance(timedelta(seconds=11))
        assert await b.leases.holder(name) is None  # expired: the holder died
        assert await b.leases.acquire(name, "other", ttl=LEASE)
        assert not await a.leases.renew(name, holder, ttl=LEASE)
        await a.leases.release(name, holder)  # not theirs any more: no effect
        assert await a.leases.holder(name) == "other"
        await b.leases.release(name, "other")
        assert await a.leases.holder(name) is None
        assert await a.leases.acquire(name, holder, ttl=LEASE)


# ----------------------------------------------------------------- rate-limit budgets


@check
async def check_replicas_never_spend_more_than_the_shared_budget(make: StoreFactory) -> None:
    clock = ManualClock()
    info = RateLimitInfo(
        convention="x-ratelimit", limit=100, remaining=10, reset_at=clock.now() + 3600
    )
    async with make() as a, make() as b:
        registries = [BudgetRegistry(backend=a.budgets), BudgetRegistry(backend=b.budgets)]
        budgets = [r.budget_for("token-1", "https://api.example") for r in registries]
        budgets[0].observe(info)  # one replica saw the provider's numbers ...
        await budgets[0].acquire(clock, on_exhausted="raise")  # ... shared with its next request

        async def spend(n: int) -> bool:
            try:
                await budgets[n % 2].acquire(clock, on_exhausted="raise")
            except RateLimited:
                return False
            return True

        granted = await asyncio.gather(*(spend(n) for n in range(30)))
        assert granted.count(True) == 9
        # A Retry-After block seen by one replica pauses the other as well.
        budgets[1].block_until(clock.now() + 60)
        for budget in reversed(budgets):  # the first of these shares the block
            with pytest.raises(RateLimited, match="pause"):
                await budget.acquire(clock, on_exhausted="raise")
        # Another credential has its own budget.
        other = registries[0].budget_for("token-2", "https://api.example")
        await other.acquire(clock, on_exhausted="raise")
        current = budgets[0].current()
        assert current is not None and current.remaining == 0


# ----------------------------------------------------------------- conditional-request validators


@check
async def check_validators_outlive_the_process_without_credential_headers(
    make: StoreFactory,
) -> None:
    from kradle_providers.http.conditional import CachedEntry, ConditionalCache

    key = ConditionalCache.key("token-1", "GET", "https://api.example/r?page=2", None)
    other = ConditionalCache.key("token-2", "GET", "https://api.example/r?page=2", None)
    body = b'[{"id": 1}]\x00\xff'  # bodies are bytes, kept exactly
    entry = CachedEntry(
        etag='W/"abc"',
        last_modified=None,
        status_code=200,
        headers=(("link", '<https://api.example/r?page=3>; rel="next"'), ("set-cookie", CANARY)),
        content=body,
        stored_at=1_700_000_000.5,
    )
    async with make() as a:
        assert await a.validators.get(key) is None
        await a.validators.put(key, entry)
        await a.validators.put(key, entry)  # replacing is idempotent
    async with make() as b:  # another process
        got = await b.validators.get(key)
        assert got is not None
        assert (got.etag, got.last_modified, got.status_code, got.content, got.stored_at) == (
            'W/"abc"',
            None,
            200,
            body,
            1_700_000_000.5,
        )
        assert got.headers == (("link", '<https://api.example/r?page=3>; rel="next"'),)
        assert await b.validators.get(other) is None  # another credential sees nothing
        await b.validators.invalidate(key)
        assert await b.validators.get(key) is None
