"""The receiver processing from store claims: stored retries, recovery, replicas sharing work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.store import StateStore, open_state_store
from kradle_providers.store.claims import RECOVERED_NOTE
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.webhooks.dedupe import event_dedupe_key
from kradle_providers.webhooks.receiver import WebhookEndpoint, WebhookReceiver
from kradle_providers.webhooks.registry import NormalizerRegistry
from tests.postgres_support import DSN
from tests.test_webhook_receiver import SECRET, Host, Sleeps, body, gh, normalizer

D = DeliveryPhase
FAST = timedelta(milliseconds=100)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return f"{DSN}?schema={request.getfixturevalue('pg_schema')}"


@pytest.fixture
async def stores(store_url: str) -> AsyncIterator[Callable[[], Any]]:
    opened: list[StateStore] = []

    async def open_one() -> StateStore:
        store = await open_state_store(store_url).open()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.aclose()


def receiver(store: StateStore, host: Host, **kw: Any) -> WebhookReceiver:
    reg = NormalizerRegistry()
    reg.register("github", "issues", normalizer)
    kw.setdefault("poll_interval", 0.05)
    return WebhookReceiver(
        [WebhookEndpoint("github", secret=Secret(SECRET))],
        handle=host,
        registry=reg,
        store=store.deliveries,
        dedupe=store.dedupe,
        **kw,
    )


async def post(r: WebhookReceiver, ids: list[int]) -> str:
    data = body(ids)
    transport = httpx.ASGITransport(app=r.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks") as client:
        resp = await client.post("/github", content=data, headers=gh(data, delivery_id=f"d{ids}"))
    assert resp.status_code == 202
    return str(resp.json()["id"])


async def test_retry_times_are_stored_and_claimed_not_slept(stores: Any) -> None:
    store = await stores()
    host, sleeps = Host(failures=2), Sleeps()
    r = receiver(store, host, sleep=sleeps, max_attempts=3, backoff=lambda attempt: 0.2)
    record_id = await post(r, [5])
    await r.drain()
    await r.aclose()
    done = await store.deliveries.get(record_id)
    assert done.phase is D.SUCCEEDED and done.attempts == 3
    retries = [h for h in done.history if h.phase is D.RETRYING]
    assert [h.note for h in retries] == ["retry in 0.2s"] * 2
    # Each retry was claimed no earlier than its stored time.
    queued_again = [h for h in done.history if h.phase is D.QUEUED][1:]
    assert all(
        q.at - r.at >= timedelta(seconds=0.2) for r, q in zip(retries, queued_again, strict=True)
    )
    assert sleeps.delays == []  # no in-memory timer
    assert [h.note for h in done.history if h.phase is D.QUEUED][1:] == ["retry", "retry"]
    assert len(host.calls) == 3


async def test_a_delivery_left_by_a_dead_worker_is_finished_once(stores: Any) -> None:
    store = await stores()
    dead_host = Host()

    async def nothing(record_id: str) -> None:
        return None

    intake = receiver(store, dead_host, enqueue=nothing)
    record_id = await post(intake, [7, 8])
    # A worker claimed it, marked its events as seen and died before handing them over.
    (claimed,) = await store.deliveries.claim("dead", lease=FAST)
    await store.deliveries.advance_claimed(record_id, "dead", D.NORMALIZING)
    await store.deliveries.advance_claimed(record_id, "dead", D.PROCESSING)
    for native_id in ("7", "8"):
        event = normalizer_event(native_id)
        await store.dedupe.seen_before(event_dedupe_key(event, instance="default"))
    await asyncio.sleep(0.15)

    host = Host()
    other = await stores()  # a restarted process: another connection, other worker id
    r = receiver(other, host)
    r.start()
    await r.drain()
    await r.aclose()
    done = await other.deliveries.get(record_id)
    assert done.phase is D.SUCCEEDED
    assert [h.phase for h in done.history].count(D.SUCCEEDED) == 1
    assert RECOVERED_NOTE in [h.note for h in done.history]
    assert [[e.native_id for e in call] for call in host.calls] == [["7", "8"]]
    assert claimed.id == record_id


def normalizer_event(native_id: str) -> Any:
    from kradle_providers.models.base import ProviderRef
    from kradle_providers.webhooks.normalizer import NormalizeContext

    ctx = NormalizeContext(
        provider=ProviderRef(type="github", instance="default"),
        event="issues",
        delivery_id="x",
        headers={},
    )
    return normalizer(ctx, {"action": "opened", "ids": [native_id]}).events[0]


async def test_a_delivery_that_kills_every_worker_is_dead_lettered(stores: Any) -> None:
    store = await stores()

    async def nothing(record_id: str) -> None:
        return None

    record_id = await post(receiver(store, Host(), enqueue=nothing), [1])
    for _ in range(3):
        (rec,) = await store.deliveries.claim("dying", lease=FAST)
        await store.deliveries.advance_claimed(rec.id, "dying", D.NORMALIZING)
        await asyncio.sleep(0.15)
    host = Host()
    r = receiver(store, host, max_attempts=3)
    await r.drain()
    await r.aclose()
    done = await store.deliveries.get(record_id)
    assert done.phase is D.DEAD_LETTERED and "gave up after 3" in (done.history[-1].note or "")
    assert host.calls == []


async def test_replicas_share_deliveries_and_finish_each_once(stores: Any) -> None:
    hosts = [Host(), Host()]
    replicas = [receiver(await stores(), h, workers=2) for h in hosts]
    ids = await asyncio.gather(*(post(replicas[n % 2], [n]) for n in range(30)))
    for r in replicas:
        await r.drain()
    for r in replicas:
        await r.aclose()
    store = await stores()
    assert await store.deliveries.count_by_phase() == {D.SUCCEEDED: 30}
    for record_id in ids:
        rec = await store.deliveries.get(record_id)
        assert [h.phase for h in rec.history].count(D.SUCCEEDED) == 1
    handled = sorted(int(e.native_id) for h in hosts for call in h.calls for e in call)
    assert handled == list(range(30))
