"""How Buildkite authenticates and labels its webhook deliveries.

A Buildkite webhook notification service proves its deliveries one of two ways,
chosen per service, never both:

- ``X-Buildkite-Signature: timestamp=<unix>,signature=<hex HMAC-SHA256(secret,
  "<timestamp>.<body>")>`` (refused outside a 5-minute replay window);
- ``X-Buildkite-Token: <token>``, the plain token.

The event is ``X-Buildkite-Event`` (``build.finished``, ``job.started``,
``agent.connected``, ``ping``...). Buildkite sends no delivery id header: intake
identifies a delivery by its body's digest. The organization and pipeline a
delivery is about (from the pipeline's or build's API URL) keep deliveries of
other pipelines out of a binding.
"""

from __future__ import annotations

import re
from typing import Any

from kradle_providers.models.base import ExternalRef
from kradle_providers.webhooks.schemes import OneOf, SharedToken, TimestampedHmacSignature
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["SIGNATURE", "TOKEN", "WEBHOOKS"]

SIGNATURE = TimestampedHmacSignature("X-Buildkite-Signature")
"""The signature mode (HMAC over ``"<timestamp>.<body>"``)."""

TOKEN = SharedToken("X-Buildkite-Token")
"""The token mode (the secret itself in a header)."""

_PIPELINE_URL = re.compile(r"/organizations/(?P<org>[^/]+)/pipelines/(?P<pipeline>[^/?#]+)")


def _target(payload: Any) -> ExternalRef | None:
    """The organization and pipeline of a build or job delivery (from their API URLs)."""
    if not isinstance(payload, dict):
        return None
    for key in ("pipeline", "build"):
        part = payload.get(key)
        url = part.get("url") if isinstance(part, dict) else None
        match = _PIPELINE_URL.search(url) if isinstance(url, str) else None
        if match:
            return ExternalRef(owner=match["org"], pipeline=match["pipeline"])
    return None


WEBHOOKS = WebhookSpec(
    scheme=OneOf(SIGNATURE, TOKEN),
    event_header="X-Buildkite-Event",
    generated_delivery_id=False,
    target_from_payload=_target,
)
"""Buildkite's webhook declaration (``ProviderPlugin.webhooks``)."""
