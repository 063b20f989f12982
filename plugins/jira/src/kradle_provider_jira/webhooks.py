"""How Jira signs and labels its webhook deliveries.

Jira Cloud signs a webhook that has a secret WebSub-style:
``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>``. It sends no event
header: the event is the payload's ``webhookEvent``, read only after the
signature checked out. The delivery id is ``X-Atlassian-Webhook-Identifier``.
"""

from __future__ import annotations

from typing import Any

from kradle_providers.models.base import ExternalRef
from kradle_providers.webhooks.schemes import HmacSignature
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["WEBHOOKS"]


def _event(payload: Any) -> str | None:
    event = payload.get("webhookEvent") if isinstance(payload, dict) else None
    return event if isinstance(event, str) else None


def _target(payload: Any) -> ExternalRef | None:
    """The project of the delivery's issue: ``issue.fields.project.key``, else the key prefix."""
    issue = payload.get("issue") if isinstance(payload, dict) else None
    if not isinstance(issue, dict):
        return None
    fields = issue.get("fields")
    project = fields.get("project") if isinstance(fields, dict) else None
    key = project.get("key") if isinstance(project, dict) else None
    if isinstance(key, str) and key:
        return ExternalRef(project=key)
    issue_key = issue.get("key")
    if isinstance(issue_key, str) and "-" in issue_key:
        return ExternalRef(project=issue_key.rsplit("-", 1)[0])
    return None


WEBHOOKS = WebhookSpec(
    scheme=HmacSignature("X-Hub-Signature"),
    event_from_payload=_event,
    delivery_id_headers=("X-Atlassian-Webhook-Identifier",),
    generated_delivery_id=False,
    target_from_payload=_target,
)
"""Jira's webhook declaration (``ProviderPlugin.webhooks``)."""
