"""Webhook subscriptions and deliveries, signed and shaped as GitHub sends them.

``emulator.webhooks.subscribe(url, secret)`` (or ``app=`` an ASGI receiver)
registers a repository hook. Every state change, through the REST API or the
control API, then emits the event GitHub would send: the body is the payload
of GitHub's webhook schema, the headers are GitHub's (``X-GitHub-Event``,
``X-GitHub-Delivery``, ``X-Hub-Signature-256`` and the legacy sha1
``X-Hub-Signature``, ``X-GitHub-Hook-ID``, ``User-Agent: GitHub-Hookshot/…``).

Deliveries are sent in the background of the running event loop (GitHub
delivers asynchronously); ``await emulator.webhooks.flush()`` waits until all
emitted deliveries were attempted. Without a running loop they wait for the
next ``flush()``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kradle_providers.auth.secret import Secret
from kradle_providers.testing.emulator import Clock, Delivery, WebhookEmitter
from kradle_providers.webhooks.signing import signature_headers

__all__ = ["GitHubWebhooks", "Subscription"]


@dataclass
class Subscription:
    """One repository webhook: where to deliver, the secret, which events (``*``: all)."""

    id: int
    url: str
    secret: Secret = field(repr=False)
    events: frozenset[str] = frozenset({"*"})
    app: Any = field(default=None, repr=False)
    active: bool = True

    def wants(self, event: str) -> bool:
        """Whether this hook receives ``event``."""
        return self.active and ("*" in self.events or event in self.events)


class GitHubWebhooks(WebhookEmitter):
    """The framework's emitter plus GitHub's hook subscriptions and headers."""

    def __init__(self, *, clock: Clock, target_id: int = 0) -> None:
        super().__init__(
            clock=clock,
            provider="github",
            # GitHub still sends the legacy sha1 header next to the sha256 one.
            signer=functools.partial(signature_headers, sha1=True),
        )
        self.subscriptions: list[Subscription] = []
        self.target_id = target_id
        self._pending: list[tuple[Delivery, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_hook = 1

    def subscribe(
        self,
        url: str = "http://receiver.test/webhooks/github",
        secret: str | Secret = "",
        *,
        app: Any = None,
        events: list[str] | None = None,
    ) -> Subscription:
        """Register a hook; ``app`` (an ASGI app) receives deliveries in process."""
        hook = Subscription(
            id=self._next_hook,
            url=url,
            secret=secret if isinstance(secret, Secret) else Secret(secret),
            events=frozenset(events or ["*"]),
            app=app,
        )
        self._next_hook += 1
        self.subscriptions.append(hook)
        return hook

    def unsubscribe(self, hook: Subscription | int) -> None:
        """Remove a hook (by object or id)."""
        wanted = hook.id if isinstance(hook, Subscription) else hook
        self.subscriptions = [s for s in self.subscriptions if s.id != wanted]

    def emit(self, event: str, payload: Mapping[str, Any]) -> list[Delivery]:
        """Sign a delivery of ``event`` for every interested hook and schedule it."""
        prepared: list[Delivery] = []
        for hook in self.subscriptions:
            if not hook.wants(event):
                continue
            delivery = self.prepare(
                hook.url,
                event,
                dict(payload),
                secret=hook.secret,
                provider_scheme="github",
                headers={
                    "user-agent": "GitHub-Hookshot/kradle-emulator",
                    "x-github-hook-id": str(hook.id),
                    "x-github-hook-installation-target-id": str(self.target_id),
                    "x-github-hook-installation-target-type": "repository",
                },
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
