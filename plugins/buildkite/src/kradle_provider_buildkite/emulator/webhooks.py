"""Webhook notification services, and deliveries signed and shaped as Buildkite sends them.

Buildkite has no public REST API for notification services: an organization
admin adds a "Webhook" service in the settings with a URL, the events and a
token. The emulator keeps the same registrations (``subscribe_service``, or
``POST /_emulator/webhooks``). Each service chooses how deliveries prove
themselves: ``token`` sends the token in ``X-Buildkite-Token``, ``signature``
sends ``X-Buildkite-Signature: timestamp=…,signature=…`` (HMAC-SHA256 over
``"<timestamp>.<body>"``); never both. Every delivery carries
``X-Buildkite-Event`` and ``User-Agent: Buildkite-Request``.

Deliveries are sent in the background of the running event loop;
``await emulator.webhooks.flush()`` waits until all were attempted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from kradle_providers.auth import Secret
from kradle_providers.testing.emulator import Clock, Delivery, SubscribedEmitter, Subscription

__all__ = ["BuildkiteWebhooks", "Mode", "Subscription"]

Mode = Literal["token", "signature"]


def _sign(
    provider: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    event: str | None = None,
    delivery_id: str | None = None,
) -> dict[str, str]:
    """Buildkite's headers; ``provider`` is ``buildkite-token`` or ``buildkite-signature``."""
    from kradle_providers.webhooks.signing import buildkite_signature

    headers = {"X-Buildkite-Event": event or ""}
    if provider.endswith("-token"):
        headers["X-Buildkite-Token"] = secret
    else:
        headers["X-Buildkite-Signature"] = buildkite_signature(secret, body, int(timestamp or 0))
    return headers


class BuildkiteWebhooks(SubscribedEmitter):
    """The framework's subscribed emitter with Buildkite's two authentication modes."""

    default_url = "http://receiver.test/webhooks/buildkite"

    def __init__(self, *, clock: Clock) -> None:
        super().__init__(clock=clock, provider="buildkite", signer=_sign)
        self.modes: dict[int, Mode] = {}

    def subscribe_service(
        self,
        url: str | None = None,
        secret: str | Secret = "",
        *,
        mode: Mode = "signature",
        events: list[str] | None = None,
        app: Any = None,
    ) -> Subscription:
        """Add a Webhook notification service (``mode``: how deliveries prove themselves)."""
        if mode not in ("token", "signature"):
            raise ValueError(f"mode must be 'token' or 'signature', not {mode!r}")
        hook = self.subscribe(url, secret, app=app, events=events)
        self.modes[hook.id] = mode
        return hook

    def delivery_headers(self, hook: Subscription) -> dict[str, str]:
        return {"user-agent": "Buildkite-Request"}

    def emit(
        self, event: str, payload: Mapping[str, Any], *, only: int | None = None
    ) -> list[Delivery]:
        """Sign one delivery of ``event`` per interested service, in that service's mode.

        ``only`` restricts it to one service (a ``ping`` goes to the service whose
        settings changed).
        """
        prepared: list[Delivery] = []
        for hook in self.subscriptions:
            if only is not None and hook.id != only:
                continue
            if not hook.wants(event) and not hook.wants(event.split(".", 1)[0] + ".*"):
                continue
            delivery = self.prepare(
                hook.url,
                event,
                dict(payload),
                secret=hook.secret,
                provider_scheme=f"buildkite-{self.modes.get(hook.id, 'signature')}",
                headers=self.delivery_headers(hook),
            )
            prepared.append(delivery)
            self._pending.append((delivery, hook.app))
        if prepared:
            self._schedule()
        return prepared
