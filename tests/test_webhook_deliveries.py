"""Delivery records: sanitized headers, digest, enforced phases, in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from webhook_specs import signature_headers

from kradle_providers.errors import NotFound
from kradle_providers.sync.phases import DeliveryPhase, InvalidTransition
from kradle_providers.webhooks.deliveries import (
    DeliveryRecord,
    DeliveryStore,
    InMemoryDeliveryStore,
    sanitize_headers,
)
from kradle_providers.webhooks.schemes import body_digest

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SECRET = "delivery-test-secret"


def record(**kw: object) -> DeliveryRecord:
    body = b'{"a":1}'
    headers = signature_headers("github", body, SECRET, event="issues", delivery_id="d1")
    headers["Authorization"] = "Bearer abcdefghijk"
    args: dict[str, object] = {
        "provider": "github",
        "instance": "default",
        "event": "issues",
        "delivery_id": "d1",
        "body": body,
        "headers": headers,
        "at": T0,
    }
    args.update(kw)
    return DeliveryRecord.received(**args)  # type: ignore[arg-type]


def test_received_record_is_sanitized_and_digested() -> None:
    r = record()
    assert r.phase is DeliveryPhase.RECEIVED
    assert r.body_digest == body_digest(b'{"a":1}') and r.body_size == 7
    assert "x-hub-signature-256" not in r.headers and "authorization" not in r.headers
    assert r.headers["x-github-event"] == "issues"
    dumped = r.model_dump_json()
    assert "sha256=" not in dumped.replace(r.body_digest, "") and "Bearer" not in dumped
    assert [h.phase for h in r.history] == [DeliveryPhase.RECEIVED]


def test_sanitize_drops_every_credential_header() -> None:
    h = sanitize_headers(
        {
            "X-Gitlab-Token": "t",
            "X-Buildkite-Token": "t",
            "X-Buildkite-Signature": "s",
            "X-Hub-Signature": "s",
            "Cookie": "c",
            "X-Api-Key": "k",
            "Idempotency-Key": "keep-me",
            "X-Gitlab-Event": "Push Hook",
        }
    )
    assert h == {"idempotency-key": "keep-me", "x-gitlab-event": "Push Hook"}


def test_advance_enforces_and_records_history() -> None:
    r = record()
    q = r.advance(DeliveryPhase.QUEUED, at=T0 + timedelta(seconds=1))
    n = q.advance(DeliveryPhase.NORMALIZING, at=T0 + timedelta(seconds=2))
    assert n.attempts == 1 and r.phase is DeliveryPhase.RECEIVED  # immutable copies
    failed = n.advance(DeliveryPhase.RETRYING, error="handler raised X")
    assert failed.error == "handler raised X"
    again = failed.advance(DeliveryPhase.QUEUED).advance(DeliveryPhase.NORMALIZING)
    assert again.attempts == 2
    ok = again.advance(DeliveryPhase.PROCESSING, action="opened").advance(DeliveryPhase.SUCCEEDED)
    assert ok.error is None and ok.action == "opened"
    assert [h.phase.value for h in ok.history] == [
        "Received",
        "Queued",
        "Normalizing",
        "Retrying",
        "Queued",
        "Normalizing",
        "Processing",
        "Succeeded",
    ]
    with pytest.raises(InvalidTransition):
        r.advance(DeliveryPhase.PROCESSING)


def test_rejected_is_never_processed() -> None:
    rejected = record().advance(DeliveryPhase.SIGNATURE_REJECTED, error="bad signature")
    for phase in DeliveryPhase:
        with pytest.raises(InvalidTransition):
            rejected.advance(phase, explicit=True)


async def test_store_add_get_update_list() -> None:
    clock_times = iter(T0 + timedelta(seconds=i) for i in range(1, 100))
    store = InMemoryDeliveryStore(clock=lambda: next(clock_times))
    assert isinstance(store, DeliveryStore)
    a, b = record(), record(delivery_id="d2", at=T0 - timedelta(minutes=1))
    await store.add(a, b"body-a")
    await store.add(b)
    with pytest.raises(ValueError, match="already exists"):
        await store.add(a)
    assert await store.get_body(a.id) == b"body-a" and await store.get_body(b.id) is None
    await store.update_phase(a.id, DeliveryPhase.QUEUED)
    got = await store.get(a.id)
    assert got.phase is DeliveryPhase.QUEUED and got.history[-1].at == T0 + timedelta(seconds=1)
    assert [r.id for r in await store.list_by_phase(DeliveryPhase.RECEIVED)] == [b.id]
    with pytest.raises(InvalidTransition):
        await store.update_phase(a.id, DeliveryPhase.SUCCEEDED)
    assert (await store.get(a.id)).phase is DeliveryPhase.QUEUED  # unchanged on refusal
    with pytest.raises(NotFound):
        await store.get("nope")
    assert len(store) == 2


async def test_store_explicit_replay_from_dead_letter() -> None:
    store = InMemoryDeliveryStore()
    r = record()
    await store.add(r)
    for p in (DeliveryPhase.QUEUED, DeliveryPhase.NORMALIZING, DeliveryPhase.DEAD_LETTERED):
        await store.update_phase(r.id, p)
    with pytest.raises(InvalidTransition):
        await store.update_phase(r.id, DeliveryPhase.QUEUED)
    back = await store.update_phase(r.id, DeliveryPhase.QUEUED, explicit=True, note="replay")
    assert back.history[-1].note == "replay"
