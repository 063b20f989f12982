"""Webhook declarations shaped like four real providers', built only from core's generic schemes.

Core tests use these instead of the provider plugins, so they exercise the
building blocks a plugin picks from (HMAC with a prefix, a shared token, a
timestamped HMAC with a replay window, an event read from the body) without
depending on any plugin being installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kradle_providers.auth.secret import Secret
from kradle_providers.webhooks.receiver import WebhookEndpoint
from kradle_providers.webhooks.schemes import (
    HmacSignature,
    OneOf,
    SharedToken,
    TimestampedHmacSignature,
)
from kradle_providers.webhooks.spec import WebhookSpec
from kradle_providers.webhooks.verify import Verifier

SHA1_REFUSED = "only a sha1 X-Hub-Signature was sent; sha1 is not accepted"
LEGACY_SHA1 = HmacSignature("X-Hub-Signature", algorithm="sha1", prefix="sha1=")
BK_SIGNATURE = TimestampedHmacSignature("X-Buildkite-Signature")
BK_TOKEN = SharedToken("X-Buildkite-Token")


def _body_event(payload: Any) -> str | None:
    event = payload.get("webhookEvent") if isinstance(payload, dict) else None
    return event if isinstance(event, str) else None


SPECS: dict[str, WebhookSpec] = {
    "github": WebhookSpec(
        HmacSignature("X-Hub-Signature-256", refused={"X-Hub-Signature": SHA1_REFUSED}),
        event_header="X-GitHub-Event",
        delivery_id_headers=("X-GitHub-Delivery",),
    ),
    "gitlab": WebhookSpec(
        SharedToken("X-Gitlab-Token"),
        event_header="X-Gitlab-Event",
        delivery_id_headers=("X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID", "Idempotency-Key"),
    ),
    "buildkite": WebhookSpec(
        OneOf(BK_SIGNATURE, BK_TOKEN),
        event_header="X-Buildkite-Event",
        delivery_id_headers=("X-Buildkite-Request",),
        generated_delivery_id=False,
    ),
    "jira": WebhookSpec(
        HmacSignature("X-Hub-Signature"),
        event_from_payload=_body_event,
        delivery_id_headers=("X-Atlassian-Webhook-Identifier",),
        generated_delivery_id=False,
    ),
}


def signature_headers(
    provider: str,
    body: bytes,
    secret: str | Secret,
    *,
    event: str | None = None,
    delivery_id: str | None = None,
    timestamp: int | None = None,
    sha1: bool = False,
    token: bool = False,
) -> dict[str, str]:
    """What ``provider`` would send: ``sha1`` adds the legacy header, ``token`` uses a token."""
    spec = SPECS[provider]
    if token:
        spec = WebhookSpec(BK_TOKEN, spec.event_header, spec.delivery_id_headers)
    headers = spec.headers_for(
        body, secret, event=event, delivery_id=delivery_id, timestamp=timestamp
    )
    if sha1:
        headers.update(LEGACY_SHA1.sign(body, secret, timestamp=0))
    return headers


def verifier(
    provider: str,
    secret: str | Secret | None,
    previous: str | Secret | None = None,
    *,
    clock: Callable[[], float] | None = None,
    spec: WebhookSpec | None = None,
) -> Verifier:
    """A verifier with the sample spec of ``provider``."""
    chosen = spec or SPECS[provider]
    if clock is None:
        return Verifier(provider, chosen, secret, previous)
    return Verifier(provider, chosen, secret, previous, clock=clock)


def endpoint(
    provider: str,
    instance: str = "default",
    secret: Secret | None = None,
    previous_secret: Secret | None = None,
) -> WebhookEndpoint:
    """A receiver endpoint verifying with the sample spec of ``provider``."""
    return WebhookEndpoint(provider, instance, secret, previous_secret, spec=SPECS[provider])
