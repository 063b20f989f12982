"""The ASGI webhook receiver, driven through httpx.ASGITransport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from webhook_specs import endpoint, signature_headers

from kradle_providers.auth.secret import Secret
from kradle_providers.models.base import Interface
from kradle_providers.models.events import NormalizeOutcome, NormalizeResult, SyncEvent
from kradle_providers.sync.phases import DeliveryPhase, InvalidTransition
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.receiver import WebhookReceiver
from kradle_providers.webhooks.registry import NormalizerRegistry

SECRET = "receiver-secret-value"
NOW = 1_700_000_000.0


def normalizer(ctx: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    return NormalizeResult(
        provider=ctx.provider.type,
        native_event=ctx.event,
        outcome=NormalizeOutcome.NORMALIZED,
        events=[
            SyncEvent(
                provider=ctx.provider,
                interface=Interface.ISSUE_TRACKING,
                object_kind="issue",
                action="updated",
                native_event=ctx.event,
                native_action=payload.get("action"),
                native_id=str(i),
            )
            for i in payload["ids"]
        ],
    )


class Host:
    """A host callback that records events and fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[list[SyncEvent]] = []

    async def __call__(self, events: list[SyncEvent]) -> None:
        self.calls.append(events)
        if self.failures:
            self.failures -= 1
            raise RuntimeError(f"downstream unavailable {SECRET}")


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make(host: Host, **kw: Any) -> WebhookReceiver:
    reg = NormalizerRegistry()
    for provider in ("github", "gitlab", "buildkite", "jira"):
        reg.register(provider, "issues", normalizer)
    reg.register("jira", "jira:issue_updated", normalizer)
    reg.declare_informational("github", ["ping"])
    endpoints = kw.pop(
        "endpoints",
        [
            endpoint("github", secret=Secret(SECRET)),
            endpoint("github", "acme", Secret("acme-new-secret"), Secret("acme-old-secret")),
            endpoint("gitlab", secret=Secret(SECRET)),
            endpoint("buildkite", secret=Secret(SECRET)),
            endpoint("jira", secret=Secret(SECRET)),
        ],
    )
    kw.setdefault("sleep", Sleeps())
    return WebhookReceiver(endpoints, handle=host, registry=reg, clock=lambda: NOW, **kw)


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    made: list[tuple[httpx.AsyncClient, WebhookReceiver]] = []

    def factory(receiver: WebhookReceiver) -> httpx.AsyncClient:
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=receiver), base_url="http://hooks.test"
        )
        made.append((c, receiver))
        return c

    yield factory
    for c, r in made:
        await c.aclose()
        await r.aclose()


def body(ids: list[int], action: str = "opened", **extra: Any) -> bytes:
    return json.dumps({"action": action, "ids": ids, **extra}).encode()


def gh(data: bytes, event: str = "issues", secret: str = SECRET, **kw: Any) -> dict[str, str]:
    return signature_headers("github", data, secret, event=event, **kw)


async def test_verified_delivery_is_queued_processed_and_handled(client_for: Any) -> None:
    host = Host()
    r = make(host)
    resp = await client_for(r).post("/github", content=body([1, 2]), headers=gh(body([1, 2])))
    assert resp.status_code == 202
    data = resp.json()
    assert data["phase"] == "Queued" and data["id"]
    await r.drain()
    rec = await r.store.get(data["id"])
    assert rec.phase is DeliveryPhase.SUCCEEDED
    assert [h.phase.value for h in rec.history] == [
        "Received",
        "Queued",
        "Normalizing",
        "Processing",
        "Succeeded",
    ]
    assert rec.action == "opened" and rec.attempts == 1 and rec.event == "issues"
    assert [[e.native_id for e in c] for c in host.calls] == [["1", "2"]]
    assert all(e.delivery_id == rec.delivery_id for e in host.calls[0])


@pytest.mark.parametrize(
    ("path", "headers_secret", "reason"),
    [
        ("/github", "wrong-secret-value", "does not match"),
        ("/github/unconfigured", SECRET, "no webhook secret is configured"),
    ],
)
async def test_rejected_is_401_recorded_and_never_processed(
    client_for: Any, path: str, headers_secret: str, reason: str
) -> None:
    host = Host()
    r = make(host)
    data = body([1])
    resp = await client_for(r).post(path, content=data, headers=gh(data, secret=headers_secret))
    assert resp.status_code == 401
    assert reason in resp.json()["reason"]
    assert SECRET not in resp.text
    await r.drain()
    (rec,) = await r.store.list_by_phase(DeliveryPhase.SIGNATURE_REJECTED)
    assert rec.id == resp.json()["id"]
    assert reason in (rec.error or "")
    assert await r.store.get_body(rec.id) is None
    assert "x-hub-signature-256" not in rec.headers
    assert host.calls == []
    with pytest.raises(InvalidTransition):
        await r.process(rec.id)


async def test_unconfigured_instance_fails_closed(client_for: Any) -> None:
    r = make(Host())
    data = body([1])
    resp = await client_for(r).post(
        "/gitlab/other", content=data, headers={"X-Gitlab-Token": "x", "X-Gitlab-Event": "issues"}
    )
    assert resp.status_code == 401
    assert "no webhook secret is configured" in resp.json()["reason"]
    [rejected] = await r.store.list_by_phase(DeliveryPhase.SIGNATURE_REJECTED)
    assert rejected.instance == "other"


async def test_provider_without_any_endpoint_is_404_and_not_recorded(client_for: Any) -> None:
    r = make(Host(), endpoints=[])
    resp = await client_for(r).post("/gitlab", content=body([1]), headers={"X-Gitlab-Token": "x"})
    assert resp.status_code == 404
    assert await r.store.list_by_phase(DeliveryPhase.SIGNATURE_REJECTED) == []


async def test_provider_path_reaches_its_only_instance(client_for: Any) -> None:
    r = make(Host(), endpoints=[endpoint("github", "gh-widgets", Secret(SECRET))])
    data = body([7])
    resp = await client_for(r).post("/github", content=data, headers=gh(data))
    assert resp.status_code == 202
    await r.drain()
    assert (await r.store.get(resp.json()["id"])).instance == "gh-widgets"


async def test_unknown_provider_is_404_and_not_recorded(client_for: Any) -> None:
    r = make(Host())
    resp = await client_for(r).post("/bitbucket", content=b"{}")
    assert resp.status_code == 404
    assert await r.store.list_by_phase(DeliveryPhase.SIGNATURE_REJECTED) == []


async def test_oversized_body_is_413(client_for: Any) -> None:
    r = make(Host(), max_body_bytes=64)
    data = body(list(range(50)))
    resp = await client_for(r).post("/github", content=data, headers=gh(data))
    assert resp.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: streamed limit
        for _ in range(10):
            yield b"x" * 10

    resp = await client_for(r).post("/github", content=chunks(), headers=gh(b"x" * 100))
    assert resp.status_code == 413
    for phase in DeliveryPhase:
        assert await r.store.list_by_phase(phase) == []


async def test_redelivery_is_deduped(client_for: Any) -> None:
    host = Host()
    r = make(host)
    c = client_for(r)
    data = body([1, 2])
    h = gh(data, delivery_id="same-delivery")
    first = await c.post("/github", content=data, headers=h)
    await r.drain()
    second = await c.post("/github", content=data, headers=h)
    await r.drain()
    assert len(host.calls) == 1
    rec = await r.store.get(second.json()["id"])
    assert rec.phase is DeliveryPhase.SUCCEEDED
    assert "0 event(s) handled, 2 duplicate(s)" in (rec.history[-1].note or "")
    assert first.json()["id"] != second.json()["id"]


async def test_failures_retry_with_backoff_then_succeed(client_for: Any) -> None:
    host = Host(failures=2)
    sleeps = Sleeps()
    r = make(host, sleep=sleeps, max_attempts=3)
    data = body([5])
    resp = await client_for(r).post("/github", content=data, headers=gh(data))
    await r.drain()
    rec = await r.store.get(resp.json()["id"])
    assert rec.phase is DeliveryPhase.SUCCEEDED and rec.attempts == 3
    assert sleeps.delays == [2.0, 4.0]
    assert len(host.calls) == 3 and all([e.native_id for e in c] == ["5"] for c in host.calls)
    phases = [h.phase.value for h in rec.history]
    assert phases.count("Retrying") == 2
    assert rec.error is None


async def test_dead_letter_then_replay_and_skip(client_for: Any) -> None:
    host = Host(failures=100)
    r = make(host, max_attempts=2)
    c = client_for(r)
    data = body([9])
    resp = await c.post("/github", content=data, headers=gh(data))
    await r.drain()
    rid = resp.json()["id"]
    rec = await r.store.get(rid)
    assert rec.phase is DeliveryPhase.DEAD_LETTERED and rec.attempts == 2
    assert "RuntimeError" in (rec.error or "") and SECRET not in (rec.error or "")
    # Not retried again on its own.
    await r.drain()
    assert len(host.calls) == 2
    host.failures = 0
    await r.replay(rid)
    await r.drain()
    rec = await r.store.get(rid)
    assert rec.phase is DeliveryPhase.SUCCEEDED and len(host.calls) == 3
    assert any(h.note == "replayed by operator" for h in rec.history)

    host.failures = 100
    data2 = body([10])
    resp2 = await c.post("/github", content=data2, headers=gh(data2))
    await r.drain()
    skipped = await r.skip(resp2.json()["id"])
    assert skipped.phase is DeliveryPhase.SUCCEEDED
    assert skipped.history[-1].note == "skipped by operator"


async def test_unknown_event_dead_lettered_informational_succeeds(client_for: Any) -> None:
    host = Host()
    r = make(host)
    c = client_for(r)
    data = body([1])
    unknown = await c.post("/github", content=data, headers=gh(data, event="star"))
    ping = await c.post("/github", content=data, headers=gh(data, event="ping"))
    bad = await c.post("/github", content=b"{nope", headers=gh(b"{nope"))
    await r.drain()
    u = await r.store.get(unknown.json()["id"])
    assert u.phase is DeliveryPhase.DEAD_LETTERED and "unknown_event" in (u.error or "")
    p = await r.store.get(ping.json()["id"])
    assert p.phase is DeliveryPhase.SUCCEEDED and "ignored" in (p.history[-1].note or "")
    m = await r.store.get(bad.json()["id"])
    assert m.phase is DeliveryPhase.DEAD_LETTERED and "malformed" in (m.error or "")
    assert m.attempts == 1 and host.calls == []


async def test_instance_route_and_rotation(client_for: Any) -> None:
    host = Host()
    r = make(host)
    c = client_for(r)
    data = body([1])
    for secret in ("acme-new-secret", "acme-old-secret"):
        resp = await c.post("/github/acme", content=data, headers=gh(data, secret=secret))
        assert resp.status_code == 202
    # The default instance's secret is not acme's.
    resp = await c.post("/github/acme", content=data, headers=gh(data))
    assert resp.status_code == 401
    await r.drain()
    assert {e.provider.instance for call in host.calls for e in call} == {"acme"}


async def test_every_core_provider_end_to_end(client_for: Any) -> None:
    host = Host()
    r = make(host)
    c = client_for(r)
    cases = {
        "gitlab": ("issues", body([1])),
        "buildkite": ("issues", body([2])),
        "jira": (None, body([3], webhookEvent="jira:issue_updated")),
    }
    for provider, (event, data) in cases.items():
        h = signature_headers(provider, data, SECRET, event=event, timestamp=int(NOW))
        resp = await c.post(f"/{provider}", content=data, headers=h)
        assert resp.status_code == 202, (provider, resp.text)
    # A stale Buildkite signature (by the receiver's clock) is refused.
    stale = signature_headers("buildkite", body([4]), SECRET, event="issues", timestamp=1)
    assert (await c.post("/buildkite", content=body([4]), headers=stale)).status_code == 401
    await r.drain()
    assert sorted(e.native_id for call in host.calls for e in call) == ["1", "2", "3"]


async def test_pluggable_enqueue(client_for: Any) -> None:
    queued: list[str] = []

    async def enqueue(record_id: str) -> None:
        queued.append(record_id)

    host = Host()
    r = make(host, enqueue=enqueue)
    data = body([1])
    resp = await client_for(r).post("/github", content=data, headers=gh(data))
    assert queued == [resp.json()["id"]] and host.calls == []
    rec = await r.process(queued[0])
    assert rec.phase is DeliveryPhase.SUCCEEDED and len(host.calls) == 1


async def test_get_is_not_allowed(client_for: Any) -> None:
    r = make(Host())
    assert (await client_for(r).get("/github")).status_code == 405


def test_endpoint_repr_hides_secret() -> None:
    ep = endpoint("github", secret=Secret(SECRET))
    assert SECRET not in repr(ep) and "set" in repr(ep)
