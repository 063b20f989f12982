"""Webhook intake: signature verification, delivery records, dedupe, normalization, receiver.

Import the pieces from their modules (:mod:`.verify`, :mod:`.signing`,
:mod:`.deliveries`, :mod:`.dedupe`, :mod:`.registry`, :mod:`.receiver`); the
names below are re-exported lazily so that importing this package stays cheap
(the receiver pulls in Starlette).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BuildkiteVerifier",
    "DedupeStore",
    "DeliveryRecord",
    "DeliveryStore",
    "GitHubVerifier",
    "GitLabVerifier",
    "InMemoryDedupeStore",
    "InMemoryDeliveryStore",
    "JiraVerifier",
    "NormalizerRegistry",
    "VerifiedDelivery",
    "WebhookEndpoint",
    "WebhookReceiver",
    "make_verifier",
    "signature_headers",
    "verify_delivery",
]

_WHERE = {
    "BuildkiteVerifier": "verify",
    "GitHubVerifier": "verify",
    "GitLabVerifier": "verify",
    "JiraVerifier": "verify",
    "VerifiedDelivery": "verify",
    "make_verifier": "verify",
    "verify_delivery": "verify",
    "signature_headers": "signing",
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
