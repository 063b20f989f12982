"""Webhook subscriptions and deliveries shaped and signed as Jira sends them.

``emulator.webhooks.subscribe(url, secret)`` (or ``app=`` an ASGI receiver)
registers a webhook. Every change, through the REST API or the control API,
then emits what Jira would: ``jira:issue_created``/``_updated``/``_deleted``
(with ``issue_event_type_name``, ``user``, the issue in REST v2 shape and the
``changelog``), ``comment_created``/``_updated``/``_deleted``, and for comment
changes also the ``jira:issue_updated`` with ``issue_commented`` & co. The
key sets follow the upstream payloads in ``fixtures/upstream/jira``.

With a secret, the body is signed as ``X-Hub-Signature: sha256=<hex>``; every
delivery carries ``X-Atlassian-Webhook-Identifier``. Deliveries are sent in the
background of the running loop; ``await emulator.webhooks.flush()`` waits for
them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kradle_providers.auth.secret import Secret
from kradle_providers.testing.emulator import Clock, Delivery, WebhookEmitter
from kradle_providers.webhooks.signing import signature_headers

__all__ = ["JiraWebhooks", "Subscription"]

JsonDict = dict[str, Any]

COMMENT_ISSUE_EVENTS = {
    "comment_created": "issue_commented",
    "comment_updated": "issue_comment_edited",
    "comment_deleted": "issue_comment_deleted",
}


@dataclass
class Subscription:
    """One webhook: where to deliver, the secret (empty: unsigned), which events (``*``)."""

    id: int
    url: str
    secret: Secret = field(repr=False)
    events: frozenset[str] = frozenset({"*"})
    app: Any = field(default=None, repr=False)
    active: bool = True

    def wants(self, event: str) -> bool:
        """Whether this webhook receives ``event``."""
        return self.active and ("*" in self.events or event in self.events)


def _jira_signer(
    provider: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    event: str | None = None,
    delivery_id: str | None = None,
) -> dict[str, str]:
    # Jira signs only when the webhook has a secret; the identifier is always sent.
    if not secret:
        return {"X-Atlassian-Webhook-Identifier": delivery_id or ""}
    return signature_headers("jira", body, secret, delivery_id=delivery_id)


class JiraWebhooks(WebhookEmitter):
    """The framework's emitter plus Jira's webhook registrations and payloads.

    ``render`` builds the payload of a state event (the emulator supplies it).
    """

    def __init__(self, *, clock: Clock) -> None:
        super().__init__(clock=clock, provider="jira", signer=_jira_signer)
        self.subscriptions: list[Subscription] = []
        self.render: Callable[[str, Mapping[str, Any]], list[tuple[str, JsonDict]]] | None = None
        self._pending: list[tuple[Delivery, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)

    def subscribe(
        self,
        url: str = "http://receiver.test/webhooks/jira",
        secret: str | Secret = "",
        *,
        app: Any = None,
        events: list[str] | None = None,
    ) -> Subscription:
        """Register a webhook; ``app`` (an ASGI app) receives deliveries in process."""
        hook = Subscription(
            id=next(self._ids),
            url=url,
            secret=secret if isinstance(secret, Secret) else Secret(secret),
            events=frozenset(events or ["*"]),
            app=app,
        )
        self.subscriptions.append(hook)
        return hook

    def unsubscribe(self, hook: Subscription | int) -> None:
        """Remove a webhook (by object or id)."""
        wanted = hook.id if isinstance(hook, Subscription) else hook
        self.subscriptions = [s for s in self.subscriptions if s.id != wanted]

    def on_change(self, event: str, details: Mapping[str, Any]) -> None:
        """State listener: render the change and emit its webhook(s)."""
        if not self.subscriptions or self.render is None:
            return
        for webhook_event, payload in self.render(event, details):
            self.emit(webhook_event, payload)

    def emit(self, event: str, payload: Mapping[str, Any]) -> list[Delivery]:
        """Sign a delivery of ``event`` for every interested webhook and schedule it."""
        prepared: list[Delivery] = []
        for hook in self.subscriptions:
            if not hook.wants(event):
                continue
            delivery = self.prepare(
                hook.url,
                event,
                dict(payload),
                secret=hook.secret,
                provider_scheme="jira",
                headers={"user-agent": "Atlassian Webhook HTTP Client"},
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
