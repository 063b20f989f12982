"""Webhook subscriptions and deliveries, shaped as GitLab sends them.

A project hook (``POST /projects/:id/hooks``) registers a URL, a secret token
and the event flags it wants (``issues_events``, ``note_events``…). Every
state change, through the REST API or the control API, then emits the hook
GitLab would send: the body is the payload of GitLab's webhook documentation,
the headers are GitLab's (``X-Gitlab-Event``, ``X-Gitlab-Token``,
``X-Gitlab-Event-UUID``, ``X-Gitlab-Webhook-UUID``, ``X-Gitlab-Instance``,
``User-Agent: GitLab/…``). ``await emulator.webhooks.flush()`` waits until every
emitted delivery was attempted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from kradle_provider_gitlab.webhooks import WEBHOOKS
from kradle_providers.testing.emulator import Now, SubscribedEmitter, Subscription

__all__ = ["HOOK_FLAGS", "GitLabWebhooks", "Subscription"]

HOOK_FLAGS: dict[str, tuple[str, ...]] = {
    "push_events": ("Push Hook",),
    "tag_push_events": ("Tag Push Hook",),
    "issues_events": ("Issue Hook",),
    "confidential_issues_events": ("Confidential Issue Hook",),
    "note_events": ("Note Hook",),
    "confidential_note_events": ("Confidential Note Hook",),
    "merge_requests_events": ("Merge Request Hook",),
    "job_events": ("Job Hook",),
    "pipeline_events": ("Pipeline Hook",),
    "releases_events": ("Release Hook",),
}
"""A project hook's event flags -> the ``X-Gitlab-Event`` values they enable."""


class GitLabWebhooks(SubscribedEmitter):
    """The framework's subscribed emitter with GitLab's token and hook headers."""

    default_url = "http://receiver.test/webhooks/gitlab"

    def __init__(self, *, clock: Now, instance: str = "http://gitlab.test") -> None:
        super().__init__(clock=clock, provider="gitlab", signer=WEBHOOKS.headers_for)
        self.instance = instance

    def delivery_headers(self, hook: Subscription) -> dict[str, str]:
        return {
            "user-agent": "GitLab/17.5.0",
            "x-gitlab-instance": self.instance,
            "x-gitlab-webhook-uuid": str(uuid.UUID(int=hook.id, version=4)),
        }


def events_of(flags: Mapping[str, object]) -> list[str]:
    """The ``X-Gitlab-Event`` values a hook's flags enable (``push_events`` defaults on)."""
    events: list[str] = []
    for flag, names in HOOK_FLAGS.items():
        default = flag == "push_events"
        if bool(flags.get(flag, default)):
            events.extend(names)
    return events
