"""Convergence: webhooks duplicated, dropped and reordered, plus a repairing backfill,
always leave the projection equal to the provider's final state."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kradle_providers.models.base import ExternalRef, ProviderRef
from kradle_providers.models.events import SyncEvent
from kradle_providers.protocols.page import collect
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.backfill import Backfiller, BackfillOptions
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.reconciler import Reconciler
from kradle_providers.sync.records import ObjectKey
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
from kradle_providers.testing.memory_backend import MemoryBackend
from kradle_providers.testing.memory_events import NORMALIZERS
from kradle_providers.webhooks.normalizer import NormalizeContext

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: conv}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    m: {type: memory}
  interfaces:
    issueTracking:
      provider: m
      mode: read-only
      externalRef: {owner: acme, repository: widgets}
      kinds: [Issue, Comment, Label]
"""
SCOPE = "acme/widgets"
REF = ExternalRef(owner="acme", repository="widgets")
PROVIDER = ProviderRef(type="memory", instance="m")

# One change: (operation, kind, which existing object / a value).
change = st.tuples(
    st.sampled_from(["create", "update", "delete"]),
    st.sampled_from(["issue", "comment", "label"]),
    st.integers(min_value=0, max_value=50),
)
# Per native event: how many copies are delivered (0 = dropped).
delivery = st.integers(min_value=0, max_value=3)


def apply_change(backend: MemoryBackend, op: str, kind: str, pick: int) -> None:
    live = backend.all(kind, SCOPE)
    if op == "create" or not live:
        if kind == "issue":
            backend.seed_issue(SCOPE, f"issue {pick}")
        elif kind == "label":
            backend.seed_label(SCOPE, f"label-{backend.sequence}-{pick}")
        else:
            issues = backend.all("issue", SCOPE)
            if issues:
                backend.seed_comment(SCOPE, issues[pick % len(issues)]["id"], f"c {pick}")
        return
    target = live[pick % len(live)]
    if op == "update":
        field = {"issue": "title", "comment": "body", "label": "description"}[kind]
        backend.external_change(kind, target["id"], **{field: f"v{pick}-{backend.sequence}"})
    else:
        backend.delete(kind, target["id"])


def to_events(native: dict[str, Any]) -> list[SyncEvent]:
    normalizer = NORMALIZERS[native["event"]]
    ctx = NormalizeContext(
        provider=PROVIDER, event=native["event"], delivery_id=native["delivery_id"]
    )
    result = normalizer(ctx, native)
    assert result.ok, result.reason
    return result.events


async def provider_state(bound: BoundBinding) -> dict[ObjectKey, Any]:
    adapter = bound.adapter_for("issueTracking")
    objects = [
        *await collect(lambda c: adapter.list_issues(REF, cursor=c)),
        *await collect(lambda c: adapter.list_comments(REF, cursor=c)),
        *await collect(lambda c: adapter.list_labels(REF, cursor=c)),
    ]
    return {ObjectKey.of(o): o.model_dump(mode="json") for o in objects}


async def projected(store: SqliteStateStore) -> dict[ObjectKey, Any]:
    return {p.key: p.object async for p in store.projections.iter_projections(binding="conv")}


async def scenario(
    changes: list[tuple[str, str, int]], copies: list[int], order: list[int]
) -> None:
    backend = MemoryBackend(max_page_size=3)
    backend.seed_repository("acme", "widgets")
    backend.seed_issue(SCOPE, "first")
    backend.seed_label(SCOPE, "bug")
    feed: list[dict[str, Any]] = []
    binding = parse_binding(BINDING, environ={})
    override = {"m": ProviderOverride(options={"backend": backend})}
    async with (
        await BoundBinding.open(binding, overrides=override) as bound,
        SqliteStateStore(":memory:") as store,
    ):
        assert (await Backfiller(bound, store).run()).ok
        backend.subscribe(feed.append)
        for op, kind, pick in changes:
            apply_change(backend, op, kind, pick)
        # Delivery plan: each native event 0..3 times, then shuffled.
        deliveries = [event for i, event in enumerate(feed) for _ in range(copies[i % len(copies)])]
        shuffled = [deliveries[i] for i in order if i < len(deliveries)]
        shuffled += [d for i, d in enumerate(deliveries) if i not in set(order)]
        reconciler = Reconciler(store, "conv", routes=bound.routes())
        for native in shuffled:
            await reconciler.ingest(to_events(native), instance="m")
        dropped = any(copies[i % len(copies)] == 0 for i in range(len(feed)))
        if dropped:
            # The repair: a complete listing, which also tombstones what is gone.
            report = await Backfiller(bound, store, options=BackfillOptions(full=True)).run()
            assert report.ok, report.to_dict()
        else:
            # Without drops the webhooks alone converge; a backfill changes nothing.
            assert await projected(store) == await provider_state(bound)
            report = await Backfiller(bound, store).run()
            assert report.ok
        assert await projected(store) == await provider_state(bound)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=40)
@given(
    changes=st.lists(change, max_size=12),
    copies=st.lists(delivery, min_size=1, max_size=8),
    order=st.permutations(list(range(40))),
)
def test_projection_converges_to_provider_state(
    changes: list[tuple[str, str, int]], copies: list[int], order: list[int]
) -> None:
    asyncio.run(scenario(changes, copies, order))


def test_duplicates_only_converge_without_backfill() -> None:
    asyncio.run(
        scenario(
            [("create", "issue", 1), ("update", "issue", 1), ("delete", "label", 0)],
            [2],
            list(range(40))[::-1],
        )
    )
