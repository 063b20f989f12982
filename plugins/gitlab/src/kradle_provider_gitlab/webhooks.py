"""How GitLab authenticates and labels its webhook deliveries.

GitLab sends the hook's secret token itself in ``X-Gitlab-Token`` (compared in
constant time, two secrets accepted during a rotation); the event is
``X-Gitlab-Event`` (``Issue Hook``…), the delivery id ``X-Gitlab-Event-UUID``
(``Idempotency-Key`` on newer instances carries the same per-delivery id).
"""

from __future__ import annotations

from kradle_providers.webhooks.schemes import SharedToken
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["WEBHOOKS"]

WEBHOOKS = WebhookSpec(
    scheme=SharedToken("X-Gitlab-Token"),
    event_header="X-Gitlab-Event",
    delivery_id_headers=("X-Gitlab-Event-UUID", "Idempotency-Key"),
)
"""GitLab's webhook declaration (``ProviderPlugin.webhooks``)."""
