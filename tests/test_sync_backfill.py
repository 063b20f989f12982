"""Backfill against the memory provider: counts, resume, incremental, rate limits, sweep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import TransientProviderError
from kradle_providers.models.base import CanonicalObject, Interface
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.backfill import Backfiller, BackfillOptions
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.phases import BackfillPhase, can_transition
from kradle_providers.sync.progress import PlainProgress, RecordingProgress
from kradle_providers.sync.records import SyncState
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
from kradle_providers.testing.memory_backend import MemoryBackend

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: mem}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    m: {type: memory}
  interfaces:
    issueTracking: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    cicd: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    gitForge: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""

# Every kind the binding backfills by default (Commit, which no operation
# lists, only when asked for: see test_sync_kind_sources.py).
SEEDED = {
    "cicd/Artifact": 1,
    "cicd/Check": 1,
    "cicd/Job": 2,
    "cicd/Pipeline": 1,
    "cicd/PipelineDefinition": 1,
    "cicd/Runner": 1,
    "gitForge/BranchProtection": 1,
    "gitForge/Collaborator": 1,
    "gitForge/DeployKey": 1,
    "gitForge/PullRequest": 1,
    "gitForge/Ref": 3,
    "gitForge/Repository": 1,
    "gitForge/Review": 1,
    "issueTracking/Comment": 1,
    "issueTracking/Issue": 3,
    "issueTracking/IssueEvent": 3,
    "issueTracking/Label": 2,
    "issueTracking/Milestone": 1,
}


@pytest.fixture
async def store() -> AsyncIterator[SqliteStateStore]:
    async with SqliteStateStore(":memory:") as s:
        yield s


async def bind(backend: MemoryBackend, text: str = BINDING) -> BoundBinding:
    return await BoundBinding.open(
        parse_binding(text, environ={}),
        overrides={"m": ProviderOverride(options={"backend": backend})},
    )


def seeded(page_size: int = 100, issues: int = 0) -> MemoryBackend:
    backend = MemoryBackend(max_page_size=page_size)
    scope = backend.seed_demo()
    for i in range(issues):
        backend.seed_issue(scope, f"extra {i}")
    return backend


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)  # the memory backend's epoch
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


async def test_full_backfill_counts_equal_seeded_counts(store: SqliteStateStore) -> None:
    progress = RecordingProgress()
    async with await bind(seeded()) as bound:
        report = await Backfiller(bound, store, progress=progress).run()
    assert report.ok, report.to_dict()
    assert await store.projections.count_by_kind("mem") == SEEDED
    states = await store.sync_states.find(binding="mem")
    assert {s.phase for s in states} == {BackfillPhase.SUCCEEDED}
    incremental = {s.kind for s in states if s.high_water_mark is not None}
    assert {"Issue", "Comment", "IssueEvent", "Pipeline", "PullRequest"} <= incremental
    finished = [e for e in progress.events if e[0] == "finished"]
    assert len(finished) == len(report.results) == len(states)


async def test_interface_filter_and_kinds_subset(store: SqliteStateStore) -> None:
    text = BINDING.replace(
        "cicd: {provider: m, mode: read-only,", "cicd: {provider: m, mode: read-only, kinds: [Job],"
    )
    async with await bind(seeded(), text) as bound:
        report = await Backfiller(bound, store).run(Interface.CICD)
    assert report.ok
    # Pipelines are listed to find their jobs but not kept.
    assert await store.projections.count_by_kind("mem") == {"cicd/Job": 2}


async def test_rerun_is_incremental_from_the_high_water_mark(store: SqliteStateStore) -> None:
    backend = seeded()
    async with await bind(backend) as bound:
        assert (await Backfiller(bound, store).run("issueTracking")).ok
        issue = backend.find("issue", title="Add sprockets")
        assert issue is not None
        backend.external_change("issue", issue["id"], title="Add more sprockets")
        backend.requests.clear()
        report = await Backfiller(bound, store).run("issueTracking")
    assert report.ok
    (call,) = backend.calls("listIssues")
    assert call.args.get("since") is not None
    issues = {r.name: r for r in report.results}["issueTracking/Issue"]
    assert issues.counters.listed == 1 and issues.counters.applied == 1
    titles = [
        p.object["title"]
        async for p in store.projections.iter_projections(kind="Issue")
        if p.object is not None
    ]
    assert "Add more sprockets" in titles


async def test_failure_mid_listing_resumes_from_the_checkpoint(store: SqliteStateStore) -> None:
    backend = seeded(page_size=2, issues=5)  # 8 issues, 4 pages
    token = Secret("sekrit-token-in-error-1234")
    backend.fail_next("listIssues", TransientProviderError(f"boom with {token.reveal()}"), times=1)
    text = BINDING.split("    cicd:")[0]
    async with await bind(backend, text) as bound:
        # First call fails: nothing applied, state Failed with a redacted error.
        first = await Backfiller(bound, store).run()
        assert not first.ok
        (failed,) = first.failed
        assert failed.kind == "Issue" and "sekrit" not in (failed.error or "")
        # Let two pages through, then fail the third.
        backend.requests.clear()
        calls = 0

        original = backend.handle

        def flaky(operation: str, tok: Any, /, **args: Any) -> None:
            nonlocal calls
            if operation == "listIssues":
                calls += 1
                if calls == 3:
                    raise TransientProviderError("network went away")
            original(operation, tok, **args)

        backend.handle = flaky  # type: ignore[method-assign]
        second = await Backfiller(bound, store).run()
        state = await store.sync_states.get(
            "mem", Interface.ISSUE_TRACKING, "Issue", "acme/widgets"
        )
        assert state is not None and state.phase is BackfillPhase.FAILED
        assert state.cursor is not None
        assert (await store.projections.count_by_kind("mem"))["issueTracking/Issue"] == 4
        assert not second.ok
        backend.handle = original  # type: ignore[method-assign]
        backend.requests.clear()
        third = await Backfiller(bound, store).run()
    assert third.ok
    # Resumed at the stored cursor: the first two pages were not listed again.
    issue_calls = backend.calls("listIssues")
    assert len(issue_calls) == 2 and all("cursor" in c.args for c in issue_calls)
    assert (await store.projections.count_by_kind("mem"))["issueTracking/Issue"] == 8


class CrashingStore:
    """Delegates to a store but dies (like kill -9) on the n-th page commit."""

    def __init__(self, inner: SqliteStateStore, crash_on: int) -> None:
        self._inner = inner
        self._left = crash_on

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def apply_page_and_checkpoint(
        self, binding: str, objects: Sequence[CanonicalObject], state: SyncState, **kw: Any
    ) -> Any:
        self._left -= 1
        if self._left == 0:
            raise SystemExit("killed")
        return await self._inner.apply_page_and_checkpoint(binding, objects, state, **kw)


@pytest.mark.parametrize("crash_on", [1, 2, 3, 4, 5])
async def test_crash_at_any_page_then_rerun_gives_the_same_counts(
    store: SqliteStateStore, crash_on: int
) -> None:
    backend = seeded(page_size=2, issues=5)
    text = BINDING.split("    cicd:")[0]
    async with await bind(backend, text) as bound:
        with pytest.raises(SystemExit):
            await Backfiller(bound, CrashingStore(store, crash_on)).run()  # type: ignore[arg-type]
        report = await Backfiller(bound, store).run()
    assert report.ok
    counts = await store.projections.count_by_kind("mem")
    assert counts == {k: v for k, v in SEEDED.items() if k.startswith("issueTracking")} | {
        "issueTracking/Issue": 8
    }


async def test_rate_limited_stream_records_reset_and_resumes(store: SqliteStateStore) -> None:
    backend = seeded()
    clock = ManualClock()
    backend.rate_limit_next("listLabels", retry_after=120)
    text = BINDING.split("    cicd:")[0]
    options = BackfillOptions(clock=clock, sleep=clock.sleep)
    async with await bind(backend, text) as bound:
        report = await Backfiller(bound, store, options=options).run()
        (limited,) = report.rate_limited
        assert limited.kind == "Label" and limited.reset_at is not None
        state = await store.sync_states.get(
            "mem", Interface.ISSUE_TRACKING, "Label", "acme/widgets"
        )
        assert state is not None and state.phase is BackfillPhase.RATE_LIMITED
        # Before the reset: not retried at all.
        backend.requests.clear()
        clock.now = limited.reset_at - timedelta(seconds=1)
        again = await Backfiller(bound, store, options=options).run()
        assert again.rate_limited and not backend.calls("listLabels")
        # With waiting allowed, it sleeps (fake) until the reset and finishes.
        waiting = BackfillOptions(clock=clock, sleep=clock.sleep, wait_on_rate_limit=True)
        done = await Backfiller(bound, store, options=waiting).run()
    assert done.ok and clock.sleeps == [1.0]
    assert (await store.projections.count_by_kind("mem"))["issueTracking/Label"] == 2


async def test_rate_limit_wait_inside_a_run(store: SqliteStateStore) -> None:
    backend = seeded()
    clock = ManualClock()
    backend.rate_limit_next("listMilestones", retry_after=30)
    options = BackfillOptions(clock=clock, sleep=clock.sleep, wait_on_rate_limit=True)
    async with await bind(backend, BINDING.split("    cicd:")[0]) as bound:
        report = await Backfiller(bound, store, options=options).run()
    assert report.ok and clock.sleeps and clock.sleeps[0] > 0


async def test_full_pass_tombstones_what_is_gone(store: SqliteStateStore) -> None:
    backend = seeded()
    text = BINDING.split("    cicd:")[0]
    async with await bind(backend, text) as bound:
        assert (await Backfiller(bound, store).run()).ok
        label = backend.find("label", name="bug")
        issue = backend.find("issue", title="Add sprockets")
        assert label is not None and issue is not None
        backend.delete("label", label["id"])
        backend.delete("issue", issue["id"])
        # Labels are always listed completely: an ordinary run sweeps them.
        await Backfiller(bound, store).run()
        counts = await store.projections.count_by_kind("mem")
        assert counts["issueTracking/Label"] == 1
        assert counts["issueTracking/Issue"] == 3  # incremental: deletion not visible
        report = await Backfiller(bound, store, options=BackfillOptions(full=True)).run()
    assert report.ok
    counts = await store.projections.count_by_kind("mem")
    assert counts["issueTracking/Issue"] == 2
    tombstoned = [
        p async for p in store.projections.iter_projections(kind="Issue", include_tombstoned=True)
    ]
    assert sum(p.tombstoned for p in tombstoned) == 1


async def test_purge_policy_forgets_older_tombstones(store: SqliteStateStore) -> None:
    backend = seeded()
    text = BINDING.split("    cicd:")[0].replace(
        "issueTracking: {provider: m, mode: read-only,",
        "issueTracking: {provider: m, mode: read-only, tombstones: purge,",
    )
    async with await bind(backend, text) as bound:
        await Backfiller(bound, store).run()
        label = backend.find("label", name="bug")
        assert label is not None
        backend.delete("label", label["id"])
        await Backfiller(bound, store).run()  # tombstones it
        await Backfiller(bound, store).run()  # purges tombstones older than this pass
    all_labels = [
        p async for p in store.projections.iter_projections(kind="Label", include_tombstoned=True)
    ]
    assert len(all_labels) == 1 and not all_labels[0].tombstoned


async def test_phase_history_is_legal(store: SqliteStateStore) -> None:
    # Every stored phase is reachable from the previous stored one.
    seen: list[BackfillPhase] = []
    original = store.sync_states.put

    async def spy(state: SyncState) -> None:
        seen.append(state.phase)
        await original(state)

    store.sync_states.put = spy  # type: ignore[method-assign]
    async with await bind(seeded(), BINDING.split("    cicd:")[0]) as bound:
        await Backfiller(bound, store).run()
    assert seen[0] is BackfillPhase.LISTING and seen[-1] is BackfillPhase.SUCCEEDED
    assert can_transition(BackfillPhase.CHECKPOINTING, BackfillPhase.SUCCEEDED)


def test_plain_progress_lines() -> None:
    import io

    from kradle_providers.sync.records import SyncCounters

    out = io.StringIO()
    p = PlainProgress(out)
    p.stream_started("issueTracking/Issue")
    p.stream_progress(
        "issueTracking/Issue",
        SyncCounters(listed=3),
        budget={"gh": [{"scope": "core", "remaining": 10, "limit": 5000}]},
    )
    p.stream_finished("issueTracking/Issue", BackfillPhase.FAILED, SyncCounters(), "boom")
    text = out.getvalue()
    assert "listed=3" in text and "gh/core=10/5000" in text and "Failed" in text
    assert "boom" in text


async def test_one_backfill_per_stream_taken_over_after_the_holder_stops() -> None:
    from kradle_providers.clock import ManualClock
    from kradle_providers.store.claims import backfill_lease_name

    clock = ManualClock(datetime.now(UTC))  # the store's: leases expire by it
    async with await bind(seeded()) as bound, SqliteStateStore(clock=clock) as store:
        plan = next(p for p in bound.streams("issueTracking") if p.kind == "Issue")
        name = backfill_lease_name("mem", "issueTracking", "Issue", plan.ref.slug())
        # Another replica holds the Issue stream (and will crash without releasing it).
        assert await store.leases.acquire(name, "replica-b", ttl=timedelta(seconds=30))
        options = BackfillOptions(holder="replica-a", lease=timedelta(seconds=5))
        report = await Backfiller(bound, store, options=options).run("issueTracking")
        held = [r for r in report.results if r.held_by]
        assert [(r.kind, r.held_by) for r in held] == [("Issue", "replica-b")]
        assert report.ok  # skipped, not failed
        counts = await store.projections.count_by_kind("mem")
        assert "issueTracking/Issue" not in counts and counts["issueTracking/Label"] == 2
        clock.advance(31)  # replica-b stopped renewing
        again = await Backfiller(bound, store, options=options).run("issueTracking")
        assert again.ok and not any(r.held_by for r in again.results)
        assert (await store.projections.count_by_kind("mem"))["issueTracking/Issue"] == 3
        assert await store.leases.holder(name) is None  # released after the run


async def test_the_heartbeat_keeps_the_lease_through_a_long_run(store: SqliteStateStore) -> None:
    from kradle_providers.store.claims import backfill_lease_name

    backend = seeded(page_size=1, issues=1)
    async with await bind(backend) as bound:
        plan = next(p for p in bound.streams("issueTracking") if p.kind == "Issue")
        name = backfill_lease_name("mem", "issueTracking", "Issue", plan.ref.slug())
        options = BackfillOptions(holder="a", lease=timedelta(milliseconds=300))
        filler = Backfiller(bound, store, options=options)
        real_apply = store.apply_page_and_checkpoint
        stolen: list[bool] = []

        async def slow_apply(*args: Any, **kw: Any) -> Any:
            await asyncio.sleep(0.35)  # pages slower than the lease: only renewals keep it
            stolen.append(await store.leases.acquire(name, "b", ttl=timedelta(seconds=1)))
            return await real_apply(*args, **kw)

        store.apply_page_and_checkpoint = slow_apply  # type: ignore[method-assign]
        result = await filler.run_stream(plan)
        store.apply_page_and_checkpoint = real_apply  # type: ignore[method-assign]
    assert result.phase is BackfillPhase.SUCCEEDED
    assert len(stolen) >= 4 and not any(stolen)


async def test_a_run_whose_lease_was_taken_over_stops(store: SqliteStateStore) -> None:
    from kradle_providers.store.claims import backfill_lease_name

    async with await bind(seeded(page_size=1, issues=5)) as bound:
        plan = next(p for p in bound.streams("issueTracking") if p.kind == "Issue")
        name = backfill_lease_name("mem", "issueTracking", "Issue", plan.ref.slug())
        options = BackfillOptions(holder="a", lease=timedelta(milliseconds=60))
        real_apply = store.apply_page_and_checkpoint
        pages = 0

        async def stall(*args: Any, **kw: Any) -> Any:
            nonlocal pages
            pages += 1
            if pages == 2:  # "a" stalls; its lease is given to "b" meanwhile
                await store.leases.release(name, "a")
                await store.leases.acquire(name, "b", ttl=timedelta(seconds=5))
                await asyncio.sleep(0.2)
            return await real_apply(*args, **kw)

        store.apply_page_and_checkpoint = stall  # type: ignore[method-assign]
        result = await Backfiller(bound, store, options=options).run_stream(plan)
        store.apply_page_and_checkpoint = real_apply  # type: ignore[method-assign]
    assert result.held_by == "b" and pages == 2
    assert await store.leases.holder(name) == "b"  # not released by "a"
