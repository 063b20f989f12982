"""Cursor backfill: list what changed, hydrate children, apply and checkpoint, resumably.

One *stream* per (binding, interface, top-level kind, target): its
:class:`~kradle_providers.sync.records.SyncState` in the store is the checkpoint.
A run moves through ``Scheduled -> Listing -> [Hydrating] -> Applying ->
Checkpointing -> (Listing …) -> Succeeded`` (enforced by
:mod:`kradle_providers.sync.phases`), and every page is applied together with
its checkpoint in one store transaction
(:meth:`~kradle_providers.store.StateStore.apply_page_and_checkpoint`): a crash
(``kill -9``) at any point leaves the previous checkpoint with none of the page
or the new one with all of it, so a re-run resumes from the stored cursor and no
object is lost or doubled (the projection ordering makes re-applying a page a no-op).

- First run, or ``full``: a complete listing. Later runs of incremental kinds
  list only what changed since the stored high-water mark.
- Deletions: a complete listing that ran in one go marks every live projection
  of the kind it did not return as tombstoned (ordered at the listing's
  high-water mark, so a newer webhook state still wins), per the interface's
  tombstone policy. A complete listing that was interrupted cannot know what it
  saw before the crash; it leaves a ``sweep_pending`` mark and the next run is
  complete again.
- Rate limits: a :class:`~kradle_providers.errors.RateLimited` moves the stream to
  ``RateLimited`` with the reset time; with ``wait_on_rate_limit`` the run waits
  (injectable ``sleep``) and resumes, otherwise the next run resumes it (once
  the reset time has passed, unless ``ignore_reset``).
- Failures: ``Failed`` with the redacted error; the next run resumes from the
  checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NoReturn

from pydantic import JsonValue

from kradle_providers.auth.secret import redact
from kradle_providers.errors import KradleError, NotFound, RateLimited
from kradle_providers.http.fanout import DEFAULT_CONCURRENCY, FANOUT_LIMIT, bounded_gather
from kradle_providers.http.snapshot import read_snapshot
from kradle_providers.metrics import NO_METRICS, Metrics, timed
from kradle_providers.models.base import CanonicalObject, Interface, Version
from kradle_providers.plugins.guard import GuardedAdapter
from kradle_providers.store.claims import (
    DEFAULT_LEASE,
    backfill_lease_name,
    holder_id,
    local_holder_gone,
)
from kradle_providers.store.ordering import ApplyOutcome
from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.binding import TombstonePolicy
from kradle_providers.sync.phases import BackfillPhase
from kradle_providers.sync.progress import NullProgress, ProgressReporter
from kradle_providers.sync.records import Deletion, SyncCounters, SyncState
from kradle_providers.sync.runtime import BoundBinding, ChildSource, StreamPlan

__all__ = ["BackfillOptions", "BackfillReport", "Backfiller", "StreamResult"]

log = logging.getLogger(__name__)

_F = BackfillPhase
_SWEEP_CHUNK = 500


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BackfillOptions:
    """How a backfill run behaves.

    ``full`` forces complete listings (and the deletion sweep);
    ``wait_on_rate_limit`` waits up to ``max_wait`` seconds for a budget reset
    instead of stopping the stream; ``ignore_reset`` resumes a rate-limited
    stream even before its reset time. ``clock`` and ``sleep`` are injectable.
    ``concurrency`` bounds the reads in flight while a page's children (and
    the checks of its head commits) are hydrated; results do not depend on it.

    One process backfills a stream at a time: a run holds the stream's lease
    in the store as ``holder`` (default: host, pid and a random suffix),
    renewed every third of ``lease``; a stream another holder runs is skipped
    (:attr:`StreamResult.held_by`), and taken over once that holder stops
    renewing (it crashed), or at once when it was a process of this host that
    no longer runs.
    """

    full: bool = False
    wait_on_rate_limit: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    max_wait: float = 900.0
    ignore_reset: bool = False
    holder: str = field(default_factory=holder_id)
    lease: timedelta = DEFAULT_LEASE
    clock: Callable[[], datetime] = _utcnow
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass(frozen=True)
class StreamResult:
    """How one stream's run ended."""

    interface: Interface
    kind: str
    scope: str
    phase: BackfillPhase
    counters: SyncCounters
    error: str | None = None
    reset_at: datetime | None = None
    held_by: str | None = None
    """Set when the stream was skipped because this holder is backfilling it."""

    @property
    def name(self) -> str:
        """``<interface>/<Kind>``."""
        return f"{self.interface.value}/{self.kind}"


@dataclass
class BackfillReport:
    """Every stream's result of one backfill run."""

    results: list[StreamResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every stream succeeded (or is being run by another holder)."""
        return all(r.phase is _F.SUCCEEDED or r.held_by for r in self.results)

    @property
    def failed(self) -> list[StreamResult]:
        """Streams that failed."""
        return [r for r in self.results if r.phase is _F.FAILED]

    @property
    def rate_limited(self) -> list[StreamResult]:
        """Streams stopped by a rate limit (resumable)."""
        return [r for r in self.results if r.phase is _F.RATE_LIMITED]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "ok": self.ok,
            "streams": [
                {
                    "stream": r.name,
                    "scope": r.scope,
                    "phase": r.phase.value,
                    "counters": r.counters.model_dump(),
                    "error": r.error,
                    "reset_at": r.reset_at.isoformat() if r.reset_at else None,
                    "held_by": r.held_by,
                }
                for r in self.results
            ],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: JsonValue | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


class Backfiller:
    """Runs the backfill streams of one bound binding against one store."""

    def __init__(
        self,
        bound: BoundBinding,
        store: StateStore,
        *,
        progress: ProgressReporter | None = None,
        options: BackfillOptions | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.bound = bound
        self.store = store
        self.metrics = metrics
        self.progress: ProgressReporter = progress if progress is not None else NullProgress()
        self.options = options or BackfillOptions()
        # Validators outlive the run: the next one (any process) sends conditional GETs.
        bound.share_validators_with(store.validators)

    async def run(self, interface: Interface | str | None = None) -> BackfillReport:
        """Run every stream (of one interface), one after another; never raises for a stream."""
        report = BackfillReport()
        # One run reads the vendor once: kinds served by the same listing share its answer.
        with read_snapshot():
            for plan in self.bound.streams(interface):
                await self._run_one(plan, report)
        return report

    async def _run_one(self, plan: StreamPlan, report: BackfillReport) -> None:
        attrs = {"binding": self.bound.name, "interface": plan.interface.value}
        with timed(self.metrics, "kradle.sync.backfill.stream", {**attrs, "kind": plan.kind}):
            result = await self.run_stream(plan)
        report.results.append(result)
        c = result.counters
        self.metrics.count("kradle.sync.backfill.applied", c.applied, {**attrs, "kind": plan.kind})
        log.log(
            logging.WARNING if result.phase is BackfillPhase.FAILED else logging.INFO,
            "backfill %s %s: listed=%d applied=%d unchanged=%d tombstoned=%d%s",
            result.name,
            result.phase.value,
            c.listed,
            c.applied,
            c.unchanged,
            c.tombstoned,
            f" ({result.error})" if result.error else "",
            extra={**attrs, "kind": plan.kind, "phase": result.phase.value},
        )

    # ------------------------------------------------------------------ one stream

    def _budget(self, plan: StreamPlan) -> dict[str, Any] | None:
        """The rate-limit budget of the provider instance serving ``plan`` (only its own)."""
        try:
            snapshots = self.bound.budget_snapshots()
        except Exception:  # a display aid must never break the backfill
            return None
        own = snapshots.get(plan.alias)
        return {plan.alias: own} if own else None

    async def _start(self, plan: StreamPlan) -> tuple[SyncState, bool] | StreamResult:
        """The state to run from and whether the run resumes an interrupted one."""
        now = self.options.clock()
        scope = plan.ref.slug()
        name = self.bound.name
        state = await self.store.sync_states.get(name, plan.interface, plan.kind, scope)
        if state is None:
            return SyncState(
                binding=name, interface=plan.interface, kind=plan.kind, scope=scope, updated_at=now
            ), False
        if state.phase is _F.SUCCEEDED:
            carry = {"sweep_pending": state.checkpoint.get("sweep_pending", False)}
            return SyncState(
                binding=name,
                interface=plan.interface,
                kind=plan.kind,
                scope=scope,
                high_water_mark=state.high_water_mark,
                checkpoint=carry,
                updated_at=now,
            ), False
        if state.phase is _F.RATE_LIMITED:
            reset = _parse(state.checkpoint.get("reset_at"))
            if reset is not None and reset > now and not self.options.ignore_reset:
                delay = (reset - now).total_seconds()
                if not self.options.wait_on_rate_limit or delay > self.options.max_wait:
                    return self._result(plan, state, reset_at=reset)
                await self.options.sleep(delay)
            state = state.advance(_F.SCHEDULED, at=self.options.clock())
        elif state.phase is _F.FAILED:
            state = state.advance(_F.SCHEDULED, at=now)
        return state, "run" in state.checkpoint

    def _result(
        self, plan: StreamPlan, state: SyncState, *, reset_at: datetime | None = None
    ) -> StreamResult:
        return StreamResult(
            interface=plan.interface,
            kind=plan.kind,
            scope=state.scope,
            phase=state.phase,
            counters=state.counters,
            error=state.error,
            reset_at=reset_at,
        )

    async def _has_live(self, plan: StreamPlan) -> bool:
        counts = await self.store.projections.count_by_kind(self.bound.name)
        return counts.get(f"{plan.interface.value}/{plan.kind}", 0) > 0

    async def run_stream(self, plan: StreamPlan) -> StreamResult:
        """Run (or resume) one stream to Succeeded, RateLimited or Failed, holding its lease."""
        scope = plan.ref.slug()
        name = backfill_lease_name(self.bound.name, plan.interface.value, plan.kind, scope)
        leases, holder = self.store.leases, self.options.holder
        if not await self._acquire(name):
            return await self._held(plan, name)
        current = asyncio.current_task()
        assert current is not None
        lost = asyncio.Event()
        beat = asyncio.create_task(self._heartbeat(name, current, lost))
        fanout = FANOUT_LIMIT.set(self.options.concurrency)
        try:
            return await self._run_stream(plan)
        except asyncio.CancelledError:
            if not lost.is_set():
                raise
            current.uncancel()
            return await self._held(plan, name)
        finally:
            FANOUT_LIMIT.reset(fanout)
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            if not lost.is_set():
                await leases.release(name, holder)

    async def _acquire(self, name: str) -> bool:
        leases, holder, ttl = self.store.leases, self.options.holder, self.options.lease
        if await leases.acquire(name, holder, ttl=ttl):
            return True
        other = await leases.holder(name)
        if other is None or not local_holder_gone(other):
            return False
        await leases.release(name, other)  # its process is gone: no need to wait
        return await leases.acquire(name, holder, ttl=ttl)

    async def _held(self, plan: StreamPlan, name: str) -> StreamResult:
        other = await self.store.leases.holder(name) or "another process"
        return StreamResult(
            interface=plan.interface,
            kind=plan.kind,
            scope=plan.ref.slug(),
            phase=_F.SCHEDULED,
            counters=SyncCounters(),
            error=f"skipped: {other} is backfilling this stream (taken over if it stops)",
            held_by=other,
        )

    async def _heartbeat(self, name: str, work: asyncio.Task[Any], lost: asyncio.Event) -> None:
        every = max(self.options.lease.total_seconds() / 3, 0.01)
        while True:
            await asyncio.sleep(every)
            if not await self.store.leases.renew(name, self.options.holder, ttl=self.options.lease):
                # Taken over (this process stalled past the lease): stop; pages are idempotent.
                lost.set()
                work.cancel()
                return

    async def _run_stream(self, plan: StreamPlan) -> StreamResult:
        started = await self._start(plan)
        if isinstance(started, StreamResult):
            return started
        state, resumed = started
        stream = f"{plan.interface.value}/{plan.kind}"
        self.progress.stream_started(stream)
        run: dict[str, JsonValue]
        if "run" in state.checkpoint and isinstance(state.checkpoint["run"], dict):
            run = dict(state.checkpoint["run"])
            if resumed and run.get("sweep"):
                # What was seen before the interruption is gone: sweep next time.
                run["sweep"] = False
                run["sweep_pending"] = True
        else:
            full = bool(
                self.options.full
                or state.high_water_mark is None
                or not plan.source.incremental
                or state.checkpoint.get("sweep_pending")
            )
            sweep = full and plan.apply_parent and await self._has_live(plan)
            run = {
                "since": None if full else _iso(state.high_water_mark),
                "full": full,
                "sweep": sweep,
                "sweep_pending": False,
                "mark": None,
                "listed_done": False,
                "started_at": _iso(self.options.clock()),
            }
        if state.phase is _F.SCHEDULED:
            state = state.advance(_F.LISTING, at=self.options.clock())
            state = state.model_copy(update={"checkpoint": {"run": dict(run)}})
            await self.store.sync_states.put(state)
        try:
            state, run, seen = await self._list(plan, state, run, stream)
        except _Stopped as stop:
            self.progress.stream_finished(
                stream, stop.state.phase, stop.state.counters, stop.state.error
            )
            return self._result(plan, stop.state, reset_at=stop.reset_at)
        if seen is not None:
            state = await self._sweep(plan, state, run, seen, stream)
        final = state.advance(_F.SUCCEEDED, at=self.options.clock()).model_copy(
            update={
                "cursor": None,
                "high_water_mark": _later(state.high_water_mark, _parse(run.get("mark"))),
                "checkpoint": {"sweep_pending": bool(run.get("sweep_pending"))},
            }
        )
        await self.store.sync_states.put(final)
        if self.bound.binding.interface(plan.interface).tombstones is TombstonePolicy.PURGE:
            started_at = _parse(run.get("started_at"))
            if started_at is not None:
                await self.store.projections.purge_tombstones(started_at)
        self.progress.stream_finished(stream, final.phase, final.counters, None)
        return self._result(plan, final)

    async def _list(
        self, plan: StreamPlan, state: SyncState, run: dict[str, JsonValue], stream: str
    ) -> tuple[SyncState, dict[str, JsonValue], set[str] | None]:
        """Page through the listing until done.

        Returns the state (in Checkpointing), the committed run record and the
        native ids seen when the run sweeps deletions.
        """
        adapter = self.bound.adapters[plan.alias]
        since = _parse(run.get("since"))
        seen: set[str] | None = set() if run.get("sweep") else None
        while not run.get("listed_done"):
            if state.phase is _F.CHECKPOINTING:
                state = state.advance(_F.LISTING, at=self.options.clock())
            try:
                page = await plan.source.fetch(adapter, plan.ref, state.cursor, since)
                children: list[CanonicalObject] = []
                if plan.children and page.items:
                    state = state.advance(_F.HYDRATING, at=self.options.clock())
                    children = await self._hydrate(plan, adapter, page.items)
                state = state.advance(_F.APPLYING, at=self.options.clock())
            except RateLimited as exc:
                state = await self._rate_limited(state, exc)
                continue
            except Exception as exc:
                await self._fail(state, exc)
            objects: list[CanonicalObject] = [*(page.items if plan.apply_parent else []), *children]
            # The run record changes only once its page is committed.
            next_run: dict[str, JsonValue] = {
                **run,
                "mark": _iso(_later(_parse(run.get("mark")), page.high_water_mark)),
                "listed_done": page.next_cursor is None,
            }
            checkpoint = state.advance(_F.CHECKPOINTING, at=self.options.clock()).model_copy(
                update={
                    "cursor": page.next_cursor,
                    "checkpoint": {"run": dict(next_run)},
                    "counters": state.counters.plus(
                        listed=len(page.items), hydrated=len(children), pages=1
                    ),
                    "error": None,
                }
            )
            try:
                outcomes = await self.store.apply_page_and_checkpoint(
                    self.bound.name, objects, checkpoint
                )
            except Exception as exc:
                await self._fail(state, exc)
            run = next_run
            if seen is not None:
                seen.update(o.external.native_id for o in page.items)
            state = checkpoint.model_copy(
                update={"counters": _count(checkpoint.counters, outcomes)}
            )
            self.progress.stream_progress(stream, state.counters, budget=self._budget(plan))
        return state, run, seen

    async def _hydrate(
        self, plan: StreamPlan, adapter: GuardedAdapter, parents: Sequence[CanonicalObject]
    ) -> list[CanonicalObject]:
        """Every child of ``parents``: each parent's listing read concurrently (bounded)."""
        wanted: list[tuple[ChildSource, CanonicalObject]] = []
        for child in plan.children:
            done: set[str] = set()
            for parent in parents:
                key = child.key(parent)
                if key and key not in done:
                    done.add(key)
                    wanted.append((child, parent))

        async def children_of(child: ChildSource, parent: CanonicalObject) -> list[CanonicalObject]:
            out: list[CanonicalObject] = []
            cursor: str | None = None
            while True:
                try:
                    page = await child.fetch(adapter, plan.ref, parent, cursor)
                except NotFound:
                    return out  # gone since the parent was listed; its own event will say so
                out += page.items
                if page.next_cursor is None:
                    return out
                cursor = page.next_cursor

        found = await bounded_gather([partial(children_of, c, p) for c, p in wanted])
        return [obj for objs in found for obj in objs]

    async def _sweep(
        self,
        plan: StreamPlan,
        state: SyncState,
        run: dict[str, JsonValue],
        seen: set[str],
        stream: str,
    ) -> SyncState:
        """Tombstone live projections of the kind the complete listing did not return."""
        adapter = self.bound.adapters[plan.alias]
        mark = _parse(run.get("mark"))
        version = Version(updated_at=mark) if mark is not None else None
        now = self.options.clock()
        gone: list[Deletion] = []
        async for proj in self.store.projections.iter_projections(
            binding=self.bound.name, interface=plan.interface, kind=plan.kind
        ):
            key = proj.key
            if (key.provider_type, key.instance) != (adapter.provider_type, adapter.instance):
                continue
            if key.native_id not in seen:
                gone.append(Deletion(key=key, version=version, at=now))
        for start in range(0, len(gone), _SWEEP_CHUNK):
            chunk = gone[start : start + _SWEEP_CHUNK]
            outcomes = await self.store.apply_page_and_checkpoint(
                self.bound.name, [], state, deletions=chunk
            )
            state = state.model_copy(update={"counters": _count(state.counters, outcomes)})
        if gone:
            self.progress.stream_progress(stream, state.counters, budget=None)
        return state

    async def _rate_limited(self, state: SyncState, exc: RateLimited) -> SyncState:
        now = self.options.clock()
        reset = exc.reset_at
        if reset is None and exc.retry_after is not None:
            reset = now + timedelta(seconds=exc.retry_after)
        limited = state.advance(_F.RATE_LIMITED, at=now, error=str(exc)).model_copy(
            update={"checkpoint": {**state.checkpoint, "reset_at": _iso(reset)}}
        )
        await self.store.sync_states.put(limited)
        delay = max(0.0, (reset - now).total_seconds()) if reset is not None else 0.0
        if not self.options.wait_on_rate_limit or delay > self.options.max_wait:
            raise _Stopped(limited, reset)
        await self.options.sleep(delay)
        # Back to listing the same (uncommitted) page.
        return limited.advance(_F.LISTING, at=self.options.clock()).model_copy(
            update={"checkpoint": state.checkpoint}
        )

    async def _fail(self, state: SyncState, exc: BaseException) -> NoReturn:
        kind = type(exc).__name__
        message = str(exc) if isinstance(exc, KradleError) else f"{kind}: {exc}"
        failed = state.advance(_F.FAILED, at=self.options.clock(), error=redact(message))
        await self.store.sync_states.put(failed)
        raise _Stopped(failed, None) from exc


class _Stopped(Exception):
    """Internal: the stream stopped (rate limited or failed) with this stored state."""

    def __init__(self, state: SyncState, reset_at: datetime | None) -> None:
        super().__init__(state.phase.value)
        self.state = state
        self.reset_at = reset_at


def _count(counters: SyncCounters, outcomes: Sequence[ApplyOutcome]) -> SyncCounters:
    applied = sum(
        1
        for o in outcomes
        if o in (ApplyOutcome.INSERTED, ApplyOutcome.UPDATED, ApplyOutcome.RESURRECTED)
    )
    return counters.plus(
        applied=applied,
        unchanged=sum(1 for o in outcomes if o is ApplyOutcome.UNCHANGED),
        stale=sum(1 for o in outcomes if o is ApplyOutcome.STALE),
        tombstoned=sum(1 for o in outcomes if o is ApplyOutcome.TOMBSTONED),
    )
