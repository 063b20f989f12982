"""Repository webhooks and their delivery log (GitHub's ``/repos/{owner}/{repo}/hooks``).

``ensure_hook`` finds the repository's hook whose ``config.url`` is the
receiver's: it is updated in place (``events`` replaced, secret set, made
active) when it differs, else created with ``content_type: json``. GitHub never
shows a secret back, so an existing hook always gets the secret again.
``list_hook_deliveries`` and ``redeliver_hook_delivery`` are GitHub's delivery
log (``GET .../hooks/{id}/deliveries``, ``POST .../deliveries/{id}/attempts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from kradle_provider_github.adapter.client import GitHubBase, repo_path
from kradle_providers.auth.secret import Secret
from kradle_providers.errors import NotFound
from kradle_providers.models.base import ExternalRef
from kradle_providers.protocols.hooks import HookDelivery, HookRegistration

__all__ = ["HookOperations"]


def _registration(native: Mapping[str, Any], *, created: bool = False) -> HookRegistration:
    config = native.get("config") or {}
    return HookRegistration(
        id=str(native["id"]),
        url=str(config.get("url") or ""),
        events=tuple(sorted(native.get("events") or ())),
        active=bool(native.get("active", True)),
        created=created,
    )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class HookOperations(GitHubBase):
    """Webhook registration and redelivery for GitHub repositories."""

    async def list_hooks(self, ref: ExternalRef) -> list[HookRegistration]:
        """The repository's webhooks (needs admin on the repository)."""
        response = await self.http.get(f"{repo_path(ref)}/hooks", params={"per_page": 100})
        return [_registration(h) for h in response.json()]

    async def ensure_hook(
        self, ref: ExternalRef, url: str, secret: Secret, events: Sequence[str]
    ) -> HookRegistration:
        """The hook to ``url`` sending exactly ``events`` (created or updated in place)."""
        wanted = sorted(set(events))
        config = {
            "url": url,
            "content_type": "json",
            "insecure_ssl": "0",
            "secret": secret.reveal(),
        }
        for hook in await self.list_hooks(ref):
            if hook.url == url:
                response = await self.http.patch(
                    f"{repo_path(ref)}/hooks/{hook.id}",
                    json={"events": wanted, "active": True, "config": config},
                )
                return _registration(response.json())
        response = await self.http.post(
            f"{repo_path(ref)}/hooks",
            json={"name": "web", "active": True, "events": wanted, "config": config},
        )
        return _registration(response.json(), created=True)

    async def list_hook_deliveries(self, ref: ExternalRef, hook_id: str) -> list[HookDelivery]:
        """The hook's delivery log, newest first (one entry per attempt)."""
        try:
            response = await self.http.get(
                f"{repo_path(ref)}/hooks/{hook_id}/deliveries", params={"per_page": 100}
            )
        except NotFound:
            return []
        return [
            HookDelivery(
                id=str(d["id"]),
                guid=str(d.get("guid") or ""),
                event=str(d.get("event") or ""),
                delivered_at=_time(d.get("delivered_at")),
                status_code=d.get("status_code") or None,
                redelivery=bool(d.get("redelivery")),
            )
            for d in response.json()
        ]

    async def redeliver_hook_delivery(
        self, ref: ExternalRef, hook_id: str, delivery_id: str
    ) -> bool:
        """Ask GitHub to send a logged delivery again (answered 202)."""
        await self.http.post(
            f"{repo_path(ref)}/hooks/{hook_id}/deliveries/{delivery_id}/attempts",
            idempotency_key=f"redeliver-{hook_id}-{delivery_id}",
        )
        return True
