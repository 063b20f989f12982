"""How Buildkite authenticates and labels its webhook deliveries.

A Buildkite webhook notification service proves its deliveries one of two ways,
chosen per service, never both:

- ``X-Buildkite-Signature: timestamp=<unix>,signature=<hex HMAC-SHA256(secret,
  "<timestamp>.<body>")>`` (refused outside a 5-minute replay window);
- ``X-Buildkite-Token: <token>``, the plain token.

The event is ``X-Buildkite-Event`` (``build.finished``, ``job.started``,
``agent.connected``, ``ping``...). Buildkite sends no delivery id header: intake
identifies a delivery by its body's digest.
"""

from __future__ import annotations

from kradle_providers.webhooks.schemes import OneOf, SharedToken, TimestampedHmacSignature
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["SIGNATURE", "TOKEN", "WEBHOOKS"]

SIGNATURE = TimestampedHmacSignature("X-Buildkite-Signature")
"""The signature mode (HMAC over ``"<timestamp>.<body>"``)."""

TOKEN = SharedToken("X-Buildkite-Token")
"""The token mode (the secret itself in a header)."""

WEBHOOKS = WebhookSpec(
    scheme=OneOf(SIGNATURE, TOKEN),
    event_header="X-Buildkite-Event",
    generated_delivery_id=False,
)
"""Buildkite's webhook declaration (``ProviderPlugin.webhooks``)."""
