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

from kradle_provider_buildkite.webhooks import SIGNATURE, TOKEN, WEBHOOKS
from kradle_providers.auth import Secret
from kradle_providers.testing.emulator import Delivery, Now, SubscribedEmitter, Subscription

__all__ = ["BuildkiteWebhooks", "Mode", "Subscription"]

Mode = Literal["token", "signature"]


class BuildkiteWebhooks(SubscribedEmitter):
    """The framework's subscribed emitter with Buildkite's two authentication modes."""

    default_url = "http://receiver.test/webhooks/buildkite"

    def __init__(self, *, clock: Now) -> None:
        super().__init__(clock=clock, provider="buildkite", signer=self._headers)
        self.modes: dict[int, Mode] = {}
        self._mode: Mode = "signature"

    def _headers(
        self,
        body: bytes,
        secret: str,
        *,
        event: str | None = None,
        delivery_id: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        """The plugin's declared headers, in the mode of the service being signed for."""
        headers = WEBHOOKS.headers_for(body, secret, event=event, timestamp=timestamp)
        if self._mode == "token":
            for name in SIGNATURE.headers:
                headers.pop(name, None)
            headers.update(TOKEN.sign(body, secret, timestamp=0))
        return headers

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
            # prepare() signs at once, with the mode set for this service.
            self._mode = self.modes.get(hook.id, "signature")
            delivery = self.prepare(
                hook.url, event, dict(payload), secret=hook.secret,
                headers=self.delivery_headers(hook),
            )  # fmt: skip
            prepared.append(delivery)
            self._pending.append((delivery, hook.app))
        if prepared:
            self._schedule()
        return prepared
