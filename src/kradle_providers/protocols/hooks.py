"""Provider-side webhooks as an adapter manages them (registration and delivery log).

Optional adapter capabilities (:class:`~kradle_providers.protocols.adapter.ProviderAdapter`
methods whose defaults return ``None``: "this provider has no API for it"):

- ``list_hooks(ref)`` / ``ensure_hook(ref, url, secret, events)``: the webhooks
  of a target, and one pointing at ``url`` that sends exactly ``events``
  (created, or updated in place, with the secret set);
- ``list_hook_deliveries(ref, hook_id)`` / ``redeliver_hook_delivery(ref,
  hook_id, delivery_id)``: the provider's delivery log, to find and resend
  what a receiver missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["HookDelivery", "HookRegistration"]


@dataclass(frozen=True)
class HookRegistration:
    """One webhook registered on the provider (the secret is never read back)."""

    id: str
    url: str
    events: tuple[str, ...]
    active: bool = True
    created: bool = False
    """True when :meth:`ensure_hook` created it, False when it existed (maybe updated)."""


@dataclass(frozen=True)
class HookDelivery:
    """One entry of the provider's delivery log of a hook.

    ``guid`` is the delivery id the receiver sees (its delivery-id header);
    ``id`` is the log entry, what a redelivery names.
    """

    id: str
    guid: str
    event: str
    delivered_at: datetime | None
    status_code: int | None
    redelivery: bool = False

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300
