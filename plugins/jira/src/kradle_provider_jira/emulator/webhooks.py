"""Webhook subscriptions and deliveries shaped and signed as Jira sends them.

``emulator.webhooks.subscribe(url, secret)`` (or ``app=`` an ASGI receiver)
registers a webhook. Every change, through the REST API or the control API,
then emits what Jira would: ``jira:issue_created``/``_updated``/``_deleted``
(with ``issue_event_type_name``, ``user``, the issue in REST v2 shape and the
``changelog``), ``comment_created``/``_updated``/``_deleted``, and for comment
changes also the ``jira:issue_updated`` with ``issue_commented`` & co. The
key sets follow the upstream payloads in ``fixtures/upstream/jira``.

With a secret, the body is signed as ``X-Hub-Signature: sha256=<hex>``; every
delivery carries ``X-Atlassian-Webhook-Identifier``. Deliveries are sent in the
background of the running loop; ``await emulator.webhooks.flush()`` waits for
them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kradle_provider_jira.webhooks import WEBHOOKS
from kradle_providers.testing.emulator import Clock, SubscribedEmitter, Subscription

__all__ = ["JiraWebhooks", "Subscription"]

JsonDict = dict[str, Any]

COMMENT_ISSUE_EVENTS = {
    "comment_created": "issue_commented",
    "comment_updated": "issue_comment_edited",
    "comment_deleted": "issue_comment_deleted",
}


def _jira_signer(
    body: bytes,
    secret: str,
    *,
    event: str | None = None,
    delivery_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    # Jira signs only when the webhook has a secret; the identifier is always sent.
    if not secret:
        return {"X-Atlassian-Webhook-Identifier": delivery_id or ""}
    return WEBHOOKS.headers_for(body, secret, delivery_id=delivery_id, timestamp=timestamp)


class JiraWebhooks(SubscribedEmitter):
    """The framework's subscribed emitter with Jira's signatures and payloads.

    ``render`` builds the payload(s) of a state event (the emulator supplies it).
    """

    default_url = "http://receiver.test/webhooks/jira"

    def __init__(self, *, clock: Clock) -> None:
        super().__init__(clock=clock, provider="jira", signer=_jira_signer)
        self.render: Callable[[str, Mapping[str, Any]], list[tuple[str, JsonDict]]] | None = None

    def delivery_headers(self, hook: Subscription) -> dict[str, str]:
        return {"user-agent": "Atlassian Webhook HTTP Client"}

    def on_change(self, event: str, details: Mapping[str, Any]) -> None:
        """State listener: render the change and emit its webhook(s)."""
        if not self.subscriptions or self.render is None:
            return
        for webhook_event, payload in self.render(event, details):
            self.emit(webhook_event, payload)
