"""How Acme signs its webhook deliveries: its own header, plain hex HMAC-SHA256.

``X-Acme-Signature: <hex HMAC-SHA256(secret, body)>`` (no prefix), the event
in ``X-Acme-Event``, the delivery id in ``X-Acme-Delivery``. Built from core's
generic :class:`~kradle_providers.webhooks.schemes.HmacSignature`; a provider
with a scheme core lacks would write its own class with ``verify`` and ``sign``.
"""

from __future__ import annotations

from kradle_providers.webhooks.schemes import HmacSignature
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["WEBHOOKS"]

WEBHOOKS = WebhookSpec(
    scheme=HmacSignature("X-Acme-Signature", prefix=""),
    event_header="X-Acme-Event",
    delivery_id_headers=("X-Acme-Delivery",),
)
"""Acme's webhook declaration (``ProviderPlugin.webhooks``)."""
