"""Signed webhook emission: signing, recording, redelivery, out-of-order sends."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kradle_providers.testing.emulator import ManualClock, WebhookEmitter

SECRET = "whsec-test-secret-123"


class Receiver:
    """A minimal ASGI webhook receiver that records what it got."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        self.received.append((dict(request.headers), await request.body()))
        await Response(status_code=self.status)(scope, receive, send)


def hmac_signer(
    body: bytes,
    secret: str,
    *,
    event: str | None = None,
    delivery_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "X-Test-Signature": f"t={timestamp},sha256={digest.hexdigest()}",
        "X-Test-Event": event or "",
        "X-Test-Delivery": delivery_id or "",
    }


def expected_signature(body: bytes, timestamp: int) -> str:
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},sha256={mac.hexdigest()}"


def emitter(clock: ManualClock | None = None) -> WebhookEmitter:
    return WebhookEmitter(clock=clock or ManualClock(), provider="toy", signer=hmac_signer)


async def test_delivery_is_signed_posted_and_recorded() -> None:
    receiver = Receiver()
    clock = ManualClock()
    hooks = emitter(clock)
    delivery = await hooks.deliver(
        "http://receiver.test/hooks",
        "widget.created",
        {"action": "created", "widget": {"id": 1}},
        secret=SECRET,
        app=receiver,
    )
    headers, body = receiver.received[0]
    assert body == b'{"action":"created","widget":{"id":1}}'
    ts = int(clock().timestamp())
    assert headers["x-test-signature"] == expected_signature(body, ts)
    assert headers["x-test-event"] == "widget.created"
    assert headers["x-test-delivery"] == delivery.id
    assert headers["content-type"] == "application/json"
    assert delivery.last is not None and delivery.last.ok and delivery.last.status == 202
    assert hooks.get(delivery.id) is delivery
    assert SECRET not in repr(delivery)


async def test_bytes_payload_is_sent_byte_for_byte() -> None:
    receiver = Receiver()
    raw = b'{\n  "action": "opened"\n}\n'
    await emitter().deliver("http://r.test/", "issues", raw, secret=SECRET, app=receiver)
    assert receiver.received[0][1] == raw


async def test_redelivery_keeps_id_and_bytes_resign_updates_timestamp() -> None:
    receiver = Receiver()
    clock = ManualClock()
    hooks = emitter(clock)
    delivery = await hooks.deliver("http://r.test/", "e", {"n": 1}, secret=SECRET, app=receiver)
    clock.advance(600)
    replay = await hooks.redeliver(delivery.id, app=receiver)
    resigned = await hooks.redeliver(delivery, resign=True, app=receiver)
    (h1, b1), (h2, b2), (h3, b3) = receiver.received
    assert b1 == b2 == b3
    assert h1["x-test-delivery"] == h2["x-test-delivery"] == h3["x-test-delivery"]
    assert h2["x-test-signature"] == h1["x-test-signature"]  # an exact replay
    assert h3["x-test-signature"] == expected_signature(b3, int(clock().timestamp()))
    assert replay.redelivery and resigned.redelivery
    assert len(delivery.attempts) == 3


async def test_out_of_order_sends() -> None:
    receiver = Receiver()
    hooks = emitter()
    prepared = [
        hooks.prepare("http://r.test/", "e", {"seq": i}, secret=SECRET, delivery_id=f"d{i}")
        for i in range(4)
    ]
    assert receiver.received == []
    await hooks.send_all(prepared, order="reverse", app=receiver)
    await hooks.send_all(prepared, order=[2, 0, 3, 1], app=receiver)
    await hooks.send_all(prepared, order="shuffle", seed=3, app=receiver)
    ids = [h["x-test-delivery"] for h, _ in receiver.received]
    assert ids[:4] == ["d3", "d2", "d1", "d0"]
    assert ids[4:8] == ["d2", "d0", "d3", "d1"]
    assert sorted(ids[8:]) == ["d0", "d1", "d2", "d3"]
    with pytest.raises(ValueError, match="permutation"):
        await hooks.send_all(prepared, order=[0, 0, 1, 2], app=receiver)


async def test_failures_are_recorded_not_raised() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    hooks = emitter()
    delivery = await hooks.deliver(
        "http://r.test/", "e", {}, secret=SECRET, transport=httpx.MockTransport(refuse)
    )
    rejected = await hooks.redeliver(delivery, app=Receiver(status=401))
    assert delivery.attempts[0].status is None
    assert "ConnectError" in (delivery.attempts[0].error or "")
    assert rejected.status == 401 and not rejected.ok


async def test_delivery_ids_are_reproducible_per_seed() -> None:
    a = WebhookEmitter(signer=hmac_signer, seed=7).prepare("u", "e", {}, secret=SECRET)
    b = WebhookEmitter(signer=hmac_signer, seed=7).prepare("u", "e", {}, secret=SECRET)
    assert a.id == b.id


def test_an_emitter_without_signer_says_how_to_get_one() -> None:
    with pytest.raises(TypeError, match=r"signer=WEBHOOKS\.headers_for"):
        WebhookEmitter(provider="toy").prepare("u", "e", {}, secret=SECRET)
