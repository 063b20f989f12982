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

from kradle_provider_github.webhooks import LEGACY_SHA1, WEBHOOKS
from kradle_providers.testing.emulator import Clock, SubscribedEmitter, Subscription

__all__ = ["GitHubWebhooks", "Subscription"]


def _sign(
    body: bytes,
    secret: str,
    *,
    event: str | None = None,
    delivery_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    headers = WEBHOOKS.headers_for(
        body, secret, event=event, delivery_id=delivery_id, timestamp=timestamp
    )
    # GitHub still sends the legacy sha1 header next to the sha256 one.
    headers.update(LEGACY_SHA1.sign(body, secret, timestamp=0))
    return headers


class GitHubWebhooks(SubscribedEmitter):
    """The framework's subscribed emitter with GitHub's signatures and hook headers."""

    default_url = "http://receiver.test/webhooks/github"

    def __init__(self, *, clock: Clock, target_id: int = 0) -> None:
        super().__init__(
            clock=clock,
            provider="github",
            signer=_sign,
        )
        self.target_id = target_id

    def delivery_headers(self, hook: Subscription) -> dict[str, str]:
        return {
            "user-agent": "GitHub-Hookshot/kradle-emulator",
            "x-github-hook-id": str(hook.id),
            "x-github-hook-installation-target-id": str(self.target_id),
            "x-github-hook-installation-target-type": "repository",
        }
