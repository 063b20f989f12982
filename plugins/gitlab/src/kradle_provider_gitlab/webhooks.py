"""How GitLab authenticates and labels its webhook deliveries.

GitLab sends the hook's secret token itself in ``X-Gitlab-Token`` (compared in
constant time, two secrets accepted during a rotation); the event is
``X-Gitlab-Event`` (``Issue Hook``…), the delivery id ``X-Gitlab-Event-UUID``
(``Idempotency-Key`` on newer instances carries the same per-delivery id).
The project a delivery is about (``project.path_with_namespace``, or a job
hook's ``project_name``) keeps deliveries of other projects out of a binding.
"""

from __future__ import annotations

from typing import Any

from kradle_providers.models.base import ExternalRef
from kradle_providers.webhooks.schemes import SharedToken
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["WEBHOOKS"]


def _target(payload: Any) -> ExternalRef | None:
    """The project (``group/sub/project`` split as owner and repository) of a delivery."""
    if not isinstance(payload, dict):
        return None
    project = payload.get("project")
    path = project.get("path_with_namespace") if isinstance(project, dict) else None
    if not isinstance(path, str):
        path = payload.get("project_name")  # job hooks name the project only so
    if not isinstance(path, str) or "/" not in path:
        return None
    owner, _, name = path.replace(" ", "").rpartition("/")
    return ExternalRef(owner=owner, repository=name)


WEBHOOKS = WebhookSpec(
    scheme=SharedToken("X-Gitlab-Token"),
    event_header="X-Gitlab-Event",
    delivery_id_headers=("X-Gitlab-Event-UUID", "Idempotency-Key"),
    target_from_payload=_target,
)
"""GitLab's webhook declaration (``ProviderPlugin.webhooks``)."""
