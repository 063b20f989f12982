"""How GitHub signs and labels its webhook deliveries.

``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``; the legacy
sha1 ``X-Hub-Signature`` alone is refused. The event is ``X-GitHub-Event``,
the delivery id ``X-GitHub-Delivery``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from kradle_providers.models.base import ExternalRef
from kradle_providers.webhooks.schemes import HmacSignature
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["LEGACY_SHA1", "WEBHOOKS"]


def _login(value: Any) -> str | None:
    login = value.get("login") if isinstance(value, dict) else None
    return login if isinstance(login, str) else None


def _target(payload: Any) -> ExternalRef | None:
    """The repository (``repository.owner.login``/``name``) or organization a delivery is about."""
    if not isinstance(payload, dict):
        return None
    repo = payload.get("repository")
    if isinstance(repo, dict) and isinstance(repo.get("name"), str):
        return _ref(_login(repo.get("owner")), repo["name"])
    org = _login(payload.get("organization"))
    return _ref(org, None) if org else None


@lru_cache(maxsize=1024)
def _ref(owner: str | None, repository: str | None) -> ExternalRef:
    # Every delivery names its target: one (frozen) ExternalRef per target, not per delivery.
    if repository is None:
        return ExternalRef(owner=owner)
    return ExternalRef(owner=owner, repository=repository)


WEBHOOKS = WebhookSpec(
    scheme=HmacSignature(
        "X-Hub-Signature-256",
        refused={
            "X-Hub-Signature": (
                "only a sha1 X-Hub-Signature was sent; sha1 is not accepted, GitHub must send "
                "X-Hub-Signature-256 (set a webhook secret on the hook)"
            )
        },
    ),
    event_header="X-GitHub-Event",
    delivery_id_headers=("X-GitHub-Delivery",),
    target_from_payload=_target,
)
"""GitHub's webhook declaration (``ProviderPlugin.webhooks``)."""

LEGACY_SHA1 = HmacSignature("X-Hub-Signature", algorithm="sha1", prefix="sha1=")
"""The legacy header GitHub still sends beside the sha256 one (produced, never accepted)."""
