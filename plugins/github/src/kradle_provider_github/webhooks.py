"""How GitHub signs and labels its webhook deliveries.

``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``; the legacy
sha1 ``X-Hub-Signature`` alone is refused. The event is ``X-GitHub-Event``,
the delivery id ``X-GitHub-Delivery``.
"""

from __future__ import annotations

from kradle_providers.webhooks.schemes import HmacSignature
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["LEGACY_SHA1", "WEBHOOKS"]

WEBHOOKS = WebhookSpec(
    scheme=HmacSignature(
        "X-Hub-Signature-256",
        refused={
            "X-Hub-Signature": (
                "only a sha1 X-Hub-Signature was sent; sha1 is not accepted, GitHub must send "
                "X-Hub-Signature-256 (set a webhook secret on the hook)"
            )
        },
    ),
    event_header="X-GitHub-Event",
    delivery_id_headers=("X-GitHub-Delivery",),
)
"""GitHub's webhook declaration (``ProviderPlugin.webhooks``)."""

LEGACY_SHA1 = HmacSignature("X-Hub-Signature", algorithm="sha1", prefix="sha1=")
"""The legacy header GitHub still sends beside the sha256 one (produced, never accepted)."""
