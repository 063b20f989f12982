"""Signed webhook emission from an emulator.

``await app.webhooks.deliver(url, event, payload, secret=...)`` serializes the
payload (bytes are sent byte-for-byte, so recorded fixtures keep their exact
signature), signs it with the emulator's ``signer`` (the provider plugin's
:meth:`WebhookSpec.headers_for <kradle_providers.webhooks.spec.WebhookSpec.headers_for>`,
the same declaration the receiver verifies with), POSTs it to a URL (a real
address, or an ASGI app in process) and records the delivery.

Recorded deliveries can be sent again with the same delivery id and bytes
(:meth:`WebhookEmitter.redeliver`, for dedupe and replay tests), and prepared
deliveries can be sent in any order (:meth:`WebhookEmitter.send_all`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx

from kradle_providers.auth.secret import Secret, redact
from kradle_providers.testing.emulator.requestlog import scrub_headers
from kradle_providers.testing.emulator.state import Clock, system_clock

__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "Signer",
    "SubscribedEmitter",
    "Subscription",
    "WebhookEmitter",
]


class Signer(Protocol):
    """Computes a delivery's headers (the shape of ``WebhookSpec.headers_for``)."""

    def __call__(
        self,
        body: bytes,
        secret: str,
        *,
        event: str | None = None,
        delivery_id: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, str]: ...


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of a delivery: when, the receiver's status or the error, headers sent."""

    time: datetime
    status: int | None
    error: str | None
    headers: dict[str, str]
    redelivery: bool = False
    response_body: bytes = b""

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Delivery:
    """A webhook delivery: what is sent (signed) and every attempt to send it.

    ``headers`` are the exact headers of the first signing (the signature is
    not a secret, but a shared-token scheme's header is: use
    :attr:`safe_headers` to show them).
    """

    id: str
    event: str
    url: str
    body: bytes
    timestamp: int
    headers: dict[str, str] = field(repr=False)
    secret: Secret = field(repr=False)
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    @property
    def payload(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def safe_headers(self) -> dict[str, str]:
        """Headers with credential-bearing values replaced by ``***``."""
        return scrub_headers(self.headers)

    @property
    def last(self) -> DeliveryAttempt | None:
        """The latest attempt, or ``None`` when never sent."""
        return self.attempts[-1] if self.attempts else None


Order = Literal["given", "reverse", "shuffle"] | Sequence[int]


class WebhookEmitter:
    """Prepares, signs, sends and records webhook deliveries.

    ``signer`` is the provider plugin's ``WEBHOOKS.headers_for``;
    ``transport`` (or ``target_app``, an ASGI app) routes deliveries in process.
    ``seed`` makes generated delivery ids reproducible.
    """

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        provider: str = "emulator",
        signer: Signer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        target_app: Any = None,
        seed: int = 0,
        timeout: float = 10.0,
    ) -> None:
        self.clock = clock
        self.provider = provider
        self.signer = signer
        self.transport = transport
        self.target_app = target_app
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._rng = random.Random(seed)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _sign(self, delivery: Delivery, timestamp: int) -> dict[str, str]:
        if self.signer is None:
            raise TypeError(
                f"the {self.provider} emulator's webhook emitter has no signer; pass "
                "signer=WEBHOOKS.headers_for (the plugin's WebhookSpec)"
            )
        signed = self.signer(
            delivery.body,
            delivery.secret.reveal(),
            timestamp=timestamp,
            event=delivery.event,
            delivery_id=delivery.id,
        )
        return {k.lower(): v for k, v in signed.items()}

    def prepare(
        self,
        url: str,
        event: str,
        payload: Any,
        *,
        secret: str | Secret,
        delivery_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timestamp: int | None = None,
    ) -> Delivery:
        """Build and sign a delivery without sending it (record it for later sends).

        ``payload`` as ``bytes``/``str`` is sent unchanged; anything else is
        serialized as compact JSON.
        """
        if isinstance(payload, bytes):
            body = payload
        elif isinstance(payload, str):
            body = payload.encode("utf-8")
        else:
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        when = timestamp if timestamp is not None else int(self.clock().timestamp())
        delivery = Delivery(
            id=delivery_id or self._new_id(),
            event=event,
            url=url,
            body=body,
            timestamp=when,
            headers={},
            secret=secret if isinstance(secret, Secret) else Secret(secret),
        )
        base = {
            "content-type": "application/json",
            "user-agent": f"kradle-emulator/{self.provider}",
        }
        extra = {k.lower(): v for k, v in (headers or {}).items()}
        delivery.headers = {**base, **self._sign(delivery, when), **extra}
        self.deliveries.append(delivery)
        return delivery

    async def deliver(
        self,
        url: str,
        event: str,
        payload: Any,
        *,
        secret: str | Secret,
        delivery_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timestamp: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        app: Any = None,
    ) -> Delivery:
        """Prepare, sign and POST a delivery; return it with its attempt recorded.

        A failed POST (connection refused, non-2xx) is recorded, not raised.
        """
        delivery = self.prepare(
            url,
            event,
            payload,
            secret=secret,
            delivery_id=delivery_id,
            headers=headers,
            timestamp=timestamp,
        )
        await self.send(delivery, transport=transport, app=app)
        return delivery

    def get(self, delivery_id: str) -> Delivery:
        """The recorded delivery with this id (``KeyError`` when unknown)."""
        for delivery in self.deliveries:
            if delivery.id == delivery_id:
                return delivery
        raise KeyError(f"no delivery {delivery_id!r} was prepared by this emulator")

    async def send(
        self,
        delivery: Delivery,
        *,
        resign: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        app: Any = None,
    ) -> DeliveryAttempt:
        """POST ``delivery``; ``resign`` signs again with the current time (same id, body)."""
        headers = dict(delivery.headers)
        if resign:
            headers.update(self._sign(delivery, int(self.clock().timestamp())))
        redelivery = bool(delivery.attempts)
        chosen = transport or self.transport
        target_app = app if app is not None else self.target_app
        if chosen is None and target_app is not None:
            chosen = httpx.ASGITransport(app=target_app)
        try:
            async with httpx.AsyncClient(transport=chosen, timeout=self.timeout) as client:
                response = await client.post(delivery.url, content=delivery.body, headers=headers)
            attempt = DeliveryAttempt(
                time=self.clock(),
                status=response.status_code,
                error=None,
                headers=scrub_headers(headers),
                redelivery=redelivery,
                response_body=response.content,
            )
        except httpx.HTTPError as exc:
            attempt = DeliveryAttempt(
                time=self.clock(),
                status=None,
                error=redact(f"{type(exc).__name__}: {exc}"),
                headers=scrub_headers(headers),
                redelivery=redelivery,
            )
        delivery.attempts.append(attempt)
        return attempt

    async def redeliver(
        self,
        delivery: Delivery | str,
        *,
        resign: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        app: Any = None,
    ) -> DeliveryAttempt:
        """Send a recorded delivery again: same id and bytes (a duplicate/replay)."""
        found = self.get(delivery) if isinstance(delivery, str) else delivery
        return await self.send(found, resign=resign, transport=transport, app=app)

    async def send_all(
        self,
        deliveries: Sequence[Delivery],
        *,
        order: Order = "given",
        seed: int = 0,
        transport: httpx.AsyncBaseTransport | None = None,
        app: Any = None,
    ) -> list[DeliveryAttempt]:
        """Send several deliveries in ``order`` (reverse, seeded shuffle, or index list)."""
        items = list(deliveries)
        if order == "reverse":
            items.reverse()
        elif order == "shuffle":
            random.Random(seed).shuffle(items)
        elif not isinstance(order, str):
            indexes = list(order)
            if sorted(indexes) != list(range(len(items))):
                raise ValueError(
                    f"order must be a permutation of 0..{len(items) - 1}, got {indexes}"
                )
            items = [items[i] for i in indexes]
        results = []
        for delivery in items:
            results.append(await self.send(delivery, transport=transport, app=app))
        return results

    def clear(self) -> None:
        """Forget every recorded delivery."""
        self.deliveries.clear()


@dataclass
class Subscription:
    """One registered webhook: where to deliver, the secret, which events (``*``: all)."""

    id: int
    url: str
    secret: Secret = field(repr=False)
    events: frozenset[str] = frozenset({"*"})
    app: Any = field(default=None, repr=False)
    active: bool = True
    where: Callable[[Mapping[str, Any]], bool] | None = field(default=None, repr=False)
    """Which payloads the hook is about (a repository hook: its repository's); None: all."""

    def wants(self, event: str, payload: Mapping[str, Any] | None = None) -> bool:
        """Whether this webhook receives ``event`` (with ``payload``, when given)."""
        if not self.active or ("*" not in self.events and event not in self.events):
            return False
        return self.where is None or payload is None or self.where(payload)


class SubscribedEmitter(WebhookEmitter):
    """An emitter with webhook registrations, as a provider keeps them.

    ``emit(event, payload)`` signs one delivery per interested subscription and
    sends them in the background of the running event loop (providers deliver
    asynchronously); ``await flush()`` waits until every emitted delivery was
    attempted. Without a running loop, deliveries wait for the next ``flush()``.
    A vendor emulator overrides :meth:`delivery_headers` for its own headers.
    """

    default_url = "http://receiver.test/webhooks"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subscriptions: list[Subscription] = []
        self._ids = itertools.count(1)
        self._pending: list[tuple[Delivery, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(
        self,
        url: str | None = None,
        secret: str | Secret = "",
        *,
        app: Any = None,
        events: list[str] | None = None,
        where: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> Subscription:
        """Register a webhook; ``app`` (an ASGI app) receives deliveries in process;
        ``where`` limits it to the payloads it is about."""
        hook = Subscription(
            id=next(self._ids),
            url=url or self.default_url,
            secret=secret if isinstance(secret, Secret) else Secret(secret),
            events=frozenset(events or ["*"]),
            app=app,
            where=where,
        )
        self.subscriptions.append(hook)
        return hook

    def unsubscribe(self, hook: Subscription | int) -> None:
        """Remove a webhook (by object or id)."""
        wanted = hook.id if isinstance(hook, Subscription) else hook
        self.subscriptions = [s for s in self.subscriptions if s.id != wanted]

    def delivery_headers(self, hook: Subscription) -> dict[str, str]:
        """Extra headers the provider sends with every delivery to ``hook``."""
        return {}

    def emit(self, event: str, payload: Mapping[str, Any]) -> list[Delivery]:
        """Sign a delivery of ``event`` for every interested webhook and schedule it."""
        prepared: list[Delivery] = []
        for hook in self.subscriptions:
            if not hook.wants(event, payload):
                continue
            delivery = self.prepare(
                hook.url,
                event,
                dict(payload),
                secret=hook.secret,
                headers=self.delivery_headers(hook),
            )
            prepared.append(delivery)
            self._pending.append((delivery, hook.app))
        if prepared:
            self._schedule()
        return prepared

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next flush() sends them
        task = loop.create_task(self._drain())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        while self._pending:
            delivery, app = self._pending.pop(0)
            await self.send(delivery, app=app)

    async def flush(self) -> list[Delivery]:
        """Send every emitted delivery not yet attempted; return all recorded deliveries."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks))
        await self._drain()
        return list(self.deliveries)

    def clear(self) -> None:
        """Forget recorded and pending deliveries (subscriptions stay)."""
        super().clear()
        self._pending.clear()
