"""The reconciler: ordering by version, tombstones, routing, dedupe, receiver integration."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from kradle_providers.errors import WebhookSignatureError
from kradle_providers.models.base import Interface, ProviderRef
from kradle_providers.models.events import SyncEvent
from kradle_providers.store import ApplyOutcome, SqliteStateStore
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.sync.reconciler import Reconciler
from kradle_providers.testing.memory_backend import MemoryBackend
from kradle_providers.testing.memory_events import NORMALIZERS
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.receiver import WebhookEndpoint, WebhookReceiver
from kradle_providers.webhooks.registry import NormalizerRegistry
from kradle_providers.webhooks.verify import VerifiedDelivery

SCOPE = "acme/widgets"
PROVIDER = ProviderRef(type="memory", instance="m")
ROUTES = {("memory", "m"): {Interface.ISSUE_TRACKING}}


@pytest.fixture
async def store() -> AsyncIterator[SqliteStateStore]:
    async with SqliteStateStore(":memory:") as s:
        yield s


def events_of(native: dict[str, Any], provider: ProviderRef = PROVIDER) -> list[SyncEvent]:
    ctx = NormalizeContext(
        provider=provider, event=native["event"], delivery_id=native["delivery_id"]
    )
    return NORMALIZERS[native["event"]](ctx, native).events


def feed() -> tuple[MemoryBackend, list[dict[str, Any]]]:
    backend = MemoryBackend()
    backend.seed_repository("acme", "widgets")
    out: list[dict[str, Any]] = []
    backend.subscribe(out.append)
    issue = backend.seed_issue(SCOPE, "one")
    backend.external_change("issue", issue["id"], title="two")
    backend.external_change("issue", issue["id"], title="three")
    return backend, out


async def title(store: SqliteStateStore) -> str | None:
    async for p in store.projections.iter_projections(binding="b", kind="Issue"):
        assert p.object is not None
        return str(p.object["title"])
    return None


async def test_out_of_order_states_keep_the_newest(store: SqliteStateStore) -> None:
    _, natives = feed()
    rec = Reconciler(store, "b", routes=ROUTES)
    for native in reversed(natives):
        await rec.apply_events(events_of(native))
    assert await title(store) == "three"
    assert rec.tally.outcomes == {"inserted": 1, "stale": 2}


async def test_deletion_tombstones_and_wins_over_late_states(store: SqliteStateStore) -> None:
    backend, natives = feed()
    issue = backend.all("issue", SCOPE)[0]
    backend.delete("issue", issue["id"])
    rec = Reconciler(store, "b", routes=ROUTES)
    deleted = events_of(natives[-1])
    assert [o.outcome for o in await rec.apply_events(deleted)] == [ApplyOutcome.TOMBSTONED]
    for native in natives[:-1]:
        await rec.apply_events(events_of(native))
    assert await store.projections.count_by_kind("b") == {}


async def test_events_of_other_instances_are_skipped(store: SqliteStateStore) -> None:
    _, natives = feed()
    rec = Reconciler(store, "b", routes=ROUTES)
    other = events_of(natives[0], ProviderRef(type="memory", instance="elsewhere"))
    (outcome,) = await rec.apply_events(other)
    assert outcome.skipped and await store.projections.count_by_kind("b") == {}


async def test_ingest_dedupes_by_delivery_action_and_id(store: SqliteStateStore) -> None:
    _, natives = feed()
    rec = Reconciler(store, "b", routes=ROUTES)
    first = await rec.ingest(events_of(natives[0]), instance="m")
    again = await rec.ingest(events_of(natives[0]), instance="m")
    assert first[0].outcome is ApplyOutcome.INSERTED
    assert again[0].skipped == "duplicate"


class HeaderVerifier:
    """Test verifier: a shared token header, the event name in another."""

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
        if headers.get("x-token") != "ok":
            raise WebhookSignatureError("bad token", provider="memory")
        return VerifiedDelivery(
            provider="memory",
            event=headers["x-event"],
            delivery_id=headers["x-delivery"],
            body=body,
        )


async def test_as_the_receivers_handler(store: SqliteStateStore) -> None:
    _, natives = feed()
    rec = Reconciler(store, "b", routes=ROUTES)
    registry = NormalizerRegistry()
    registry.register_many("memory", NORMALIZERS)
    receiver = WebhookReceiver(
        [WebhookEndpoint(provider="memory", instance="m", verifier=HeaderVerifier())],
        handle=rec,
        registry=registry,
        store=store.deliveries,
        dedupe=store.dedupe,
    )
    transport = httpx.ASGITransport(app=receiver.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks") as client:
        for native in [natives[2], natives[0], natives[2], natives[1]]:  # dup + reordered
            headers = {"x-token": "ok", "x-event": "issue", "x-delivery": native["delivery_id"]}
            response = await client.post("/memory/m", content=json.dumps(native), headers=headers)
            assert response.status_code == 202
        forged = await client.post(
            "/memory/m", content=b"{}", headers={"x-token": "no", "x-event": "issue"}
        )
        assert forged.status_code == 401
        await receiver.drain()
    await receiver.aclose()
    assert await title(store) == "three"
    phases = await store.deliveries.count_by_phase()
    assert phases == {DeliveryPhase.SUCCEEDED: 4, DeliveryPhase.SIGNATURE_REJECTED: 1}


async def test_applied_events_reach_the_confirm_hook_but_stale_ones_do_not(
    store: SqliteStateStore,
) -> None:
    _, native = feed()
    seen: list[str] = []

    async def confirm(event: SyncEvent) -> None:
        seen.append(str(event.object.title) if event.object is not None else "-")  # type: ignore[union-attr]

    reconciler = Reconciler(store, "b", routes=ROUTES, confirm=confirm)
    states = [e for n in native for e in events_of(n) if e.object_kind == "Issue"]
    await reconciler.apply_events(reversed(states))  # newest first: the older two are stale
    assert seen == ["three"]
    await reconciler.apply_events(states[-1:])  # a duplicate changes nothing
    assert seen == ["three"]
