"""What a provider plugin declares about its webhooks: scheme, event and delivery-id headers.

A plugin names a :class:`WebhookSpec` in its
:class:`~kradle_providers.plugins.spec.ProviderPlugin` (``webhooks="pkg.webhooks:WEBHOOKS"``);
the receiver, ``kradle-providers webhook verify --provider NAME`` and the
contract suite then verify that provider's deliveries, and the provider's
emulator signs with the same object (:meth:`WebhookSpec.headers_for`)::

    WEBHOOKS = WebhookSpec(
        scheme=HmacSignature("X-Acme-Signature", prefix=""),
        event_header="X-Acme-Event",
        delivery_id_headers=("X-Acme-Delivery",),
    )
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kradle_providers.models.base import ExternalRef
from kradle_providers.webhooks.schemes import SecretLike, SignatureScheme, body_digest

__all__ = ["WebhookSpec"]


@dataclass(frozen=True)
class WebhookSpec:
    """How one provider authenticates and labels its webhook deliveries.

    - ``scheme``: a :class:`~kradle_providers.webhooks.schemes.SignatureScheme`.
    - ``event_header``: the header naming the event (``X-Gitlab-Event``), or
      ``None`` when the provider names it only in the body.
    - ``delivery_id_headers``: headers carrying the delivery id, first present
      wins; without one the id is the body's digest.
    - ``event_from_payload``: reads the event name from the parsed body, for
      providers without an event header; called only after verification.
    - ``generated_delivery_id``: whether the provider always sends a delivery id
      (an emulator then makes one up when none is given).
    - ``target_from_payload``: reads where the change happened (repository,
      organization, project) from the parsed body, so that a binding never
      projects a delivery about another target; ``None`` when the body names none.
    """

    scheme: SignatureScheme
    event_header: str | None = None
    delivery_id_headers: tuple[str, ...] = ()
    event_from_payload: Callable[[Any], str | None] | None = None
    generated_delivery_id: bool = True
    target_from_payload: Callable[[Any], ExternalRef | None] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "event_header", self.event_header.lower() if self.event_header else None
        )
        object.__setattr__(
            self, "delivery_id_headers", tuple(h.lower() for h in self.delivery_id_headers)
        )

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """The delivery id from lower-cased ``headers``, else the body's digest."""
        for name in self.delivery_id_headers:
            value = headers.get(name)
            if value:
                return value
        return body_digest(body)

    def headers_for(
        self,
        body: bytes,
        secret: SecretLike,
        *,
        event: str | None = None,
        delivery_id: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        """Every header the provider sends with ``body``: signature, event, delivery id.

        What emulators and tests send. ``timestamp`` defaults to now; a missing
        ``delivery_id`` is made up when the provider always sends one.
        """
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {"content-type": "application/json"}
        headers.update(self.scheme.sign(body, secret, timestamp=ts))
        if event is not None and self.event_header:
            headers[self.event_header] = event
        if delivery_id is None and self.generated_delivery_id:
            delivery_id = str(uuid.uuid4())
        if delivery_id is not None and self.delivery_id_headers:
            headers[self.delivery_id_headers[0]] = delivery_id
        return headers
