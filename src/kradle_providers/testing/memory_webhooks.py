"""How the in-memory test double signs its change events when delivered as webhooks.

``X-Memory-Signature: sha256=<hex HMAC-SHA256(secret, body)>``, the event in
``X-Memory-Event``, the delivery id in ``X-Memory-Delivery``: a plain
instance of the generic HMAC scheme, as a plugin would declare it.
"""

from __future__ import annotations

from kradle_providers.webhooks.schemes import HmacSignature
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["WEBHOOKS"]

WEBHOOKS = WebhookSpec(
    scheme=HmacSignature("X-Memory-Signature"),
    event_header="X-Memory-Event",
    delivery_id_headers=("X-Memory-Delivery",),
)
"""The memory provider's webhook declaration (``ProviderPlugin.webhooks``)."""
