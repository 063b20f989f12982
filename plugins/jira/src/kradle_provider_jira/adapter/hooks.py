"""Admin webhooks of a Jira site (``/rest/webhooks/1.0/webhook``, needs Jira admin).

``ensure_hook`` keeps one webhook per receiver URL and project: the one whose
``url`` is the receiver's and whose JQL filter is ``project = KEY`` is replaced
in place (events, secret, enabled), else one is registered. Jira keeps no
delivery log a client can read, so recovery of missed deliveries is a backfill.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kradle_provider_jira.adapter.client import JiraBase
from kradle_providers.auth.secret import Secret
from kradle_providers.models.base import ExternalRef
from kradle_providers.protocols.hooks import HookRegistration

__all__ = ["HookOperations"]

_BASE = "/rest/webhooks/1.0/webhook"
_FILTER = "issue-related-events-section"


def _registration(native: Mapping[str, Any], *, created: bool = False) -> HookRegistration:
    return HookRegistration(
        id=str(native.get("self", "")).rstrip("/").rsplit("/", 1)[-1],
        url=str(native.get("url") or ""),
        events=tuple(sorted(native.get("events") or ())),
        active=bool(native.get("enabled", True)),
        created=created,
    )


class HookOperations(JiraBase):
    """Webhook registration for Jira projects."""

    def _jql(self, ref: ExternalRef) -> str:
        return f"project = {self._project(ref)}"

    async def _natives(self) -> list[Mapping[str, Any]]:
        body = (await self.http.get(_BASE)).json()
        return [h for h in body if isinstance(h, Mapping)] if isinstance(body, list) else []

    async def list_hooks(self, ref: ExternalRef) -> list[HookRegistration]:
        """The site's webhooks about ``ref``'s project."""
        jql = self._jql(ref)
        return [
            _registration(h)
            for h in await self._natives()
            if (h.get("filters") or {}).get(_FILTER) == jql
        ]

    async def ensure_hook(
        self, ref: ExternalRef, url: str, secret: Secret, events: Sequence[str]
    ) -> HookRegistration:
        """The webhook to ``url`` for ``ref``'s project with exactly ``events``."""
        body = {
            "name": f"kradle {self._project(ref)}",
            "url": url,
            "events": sorted(set(events)),
            "filters": {_FILTER: self._jql(ref)},
            "excludeBody": False,
            "enabled": True,
            "secret": secret.reveal(),
        }
        for hook in await self.list_hooks(ref):
            if hook.url == url:
                response = await self.http.put(f"{_BASE}/{hook.id}", json=body)
                return _registration(response.json())
        response = await self.http.post(_BASE, json=body)
        return _registration(response.json(), created=True)
