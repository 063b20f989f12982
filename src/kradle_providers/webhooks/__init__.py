"""Webhook intake: signature schemes, verification, delivery records, dedupe, normalization,
receiver.

The names below are imported lazily at run time so that importing this package
stays cheap (the receiver pulls in Starlette); type checkers see them eagerly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_providers.webhooks.dedupe import DedupeStore, InMemoryDedupeStore
    from kradle_providers.webhooks.deliveries import (
        DeliveryRecord,
        DeliveryStore,
        InMemoryDeliveryStore,
    )
    from kradle_providers.webhooks.receiver import WebhookEndpoint, WebhookReceiver
    from kradle_providers.webhooks.registry import NormalizerRegistry
    from kradle_providers.webhooks.schemes import (
        HmacSignature,
        OneOf,
        SharedToken,
        SignatureScheme,
        TimestampedHmacSignature,
    )
    from kradle_providers.webhooks.spec import WebhookSpec
    from kradle_providers.webhooks.verify import (
        VerifiedDelivery,
        Verifier,
        make_verifier,
        verify_delivery,
    )

__all__ = [
    "DedupeStore",
    "DeliveryRecord",
    "DeliveryStore",
    "HmacSignature",
    "InMemoryDedupeStore",
    "InMemoryDeliveryStore",
    "NormalizerRegistry",
    "OneOf",
    "SharedToken",
    "SignatureScheme",
    "TimestampedHmacSignature",
    "VerifiedDelivery",
    "Verifier",
    "WebhookEndpoint",
    "WebhookReceiver",
    "WebhookSpec",
    "make_verifier",
    "verify_delivery",
]

_WHERE = {
    "HmacSignature": "schemes",
    "OneOf": "schemes",
    "SharedToken": "schemes",
    "SignatureScheme": "schemes",
    "TimestampedHmacSignature": "schemes",
    "WebhookSpec": "spec",
    "VerifiedDelivery": "verify",
    "Verifier": "verify",
    "make_verifier": "verify",
    "verify_delivery": "verify",
    "DeliveryRecord": "deliveries",
    "DeliveryStore": "deliveries",
    "InMemoryDeliveryStore": "deliveries",
    "DedupeStore": "dedupe",
    "InMemoryDedupeStore": "dedupe",
    "NormalizerRegistry": "registry",
    "WebhookEndpoint": "receiver",
    "WebhookReceiver": "receiver",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
