"""Admin webhooks: ``/rest/webhooks/1.0/webhook`` (Cloud and Data Center).

``POST`` registers one (``name`` and ``url`` required, 400 otherwise):
``events`` (all when empty), ``filters["issue-related-events-section"]`` a JQL
limiting the issues it is about (``project = KEY`` is what the emulator
understands; other JQL is kept and not applied), ``secret`` to sign the bodies
(never shown back). ``GET`` lists them, ``GET/PUT/DELETE .../webhook/{id}``
reads, replaces and removes one. Jira keeps no delivery log a client can read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_provider_jira.webhooks import WEBHOOKS
from kradle_providers.auth.secret import Secret
from kradle_providers.testing.emulator import EmulatorHTTPError, RequestContext
from kradle_providers.testing.emulator.webhooks import Subscription

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.app import JiraEmulator

__all__ = ["register"]

_FILTER = "issue-related-events-section"
_PROJECT = re.compile(r"""^\s*project\s*=\s*"?([A-Za-z][A-Za-z0-9_]*)"?\s*$""", re.I)


@dataclass
class _Hook:
    name: str
    filters: dict[str, Any]
    exclude_body: bool
    subscription: Subscription


def _where(jql: str | None) -> Any:
    match = _PROJECT.match(jql or "")
    if match is None:
        return None
    key = match.group(1).upper()

    def about(payload: Mapping[str, Any]) -> bool:
        target = WEBHOOKS.target_from_payload(payload) if WEBHOOKS.target_from_payload else None
        return target is not None and (target.project or "").upper() == key

    return about


def register(emu: JiraEmulator) -> None:
    """Register the routes on ``emu``."""
    hooks: dict[int, _Hook] = {}
    base = "/rest/webhooks/1.0/webhook"

    def render(ctx: RequestContext, hook: _Hook) -> dict[str, Any]:
        sub = hook.subscription
        return {
            "name": hook.name,
            "url": sub.url,
            "events": sorted(e for e in sub.events if e != "*"),
            "filters": hook.filters,
            "excludeBody": hook.exclude_body,
            "enabled": sub.active,
            "self": f"{str(ctx.request.base_url).rstrip('/')}{base}/{sub.id}",
            "lastUpdatedUser": emu.actor(ctx),
            "lastUpdated": int(emu.clock().timestamp() * 1000),
        }

    def parse(ctx: RequestContext) -> tuple[str, str, list[str], dict[str, Any], Any]:
        body = ctx.json_body()
        if not isinstance(body, dict) or not body.get("name") or not body.get("url"):
            raise EmulatorHTTPError(400, "A webhook needs a name and a url.")
        filters = body.get("filters")
        if not isinstance(filters, dict):
            filters = {}
        return str(body["name"]), str(body["url"]), list(body.get("events") or []), filters, body

    def hook_or_404(ctx: RequestContext) -> _Hook:
        hook = hooks.get(int(ctx.params["hook_id"]))
        if hook is None:
            raise EmulatorHTTPError(404, "Webhook not found.")
        return hook

    @emu.get(base, name="getAllWebhooks")
    async def list_hooks(ctx: RequestContext) -> Any:
        return [render(ctx, h) for h in hooks.values()]

    @emu.post(base, name="registerWebhook")
    async def create(ctx: RequestContext) -> Response:
        name, url, events, filters, body = parse(ctx)
        sub = emu.webhooks.subscribe(
            url,
            str(body.get("secret") or ""),
            events=events or None,
            where=_where(filters.get(_FILTER)),
        )
        hooks[sub.id] = _Hook(name, filters, bool(body.get("excludeBody")), sub)
        return ctx.json(render(ctx, hooks[sub.id]), status=201)

    @emu.get(base + "/{hook_id:int}", name="getWebhook")
    async def get(ctx: RequestContext) -> Any:
        return render(ctx, hook_or_404(ctx))

    @emu.put(base + "/{hook_id:int}", name="updateWebhook")
    async def update(ctx: RequestContext) -> Any:
        hook = hook_or_404(ctx)
        name, url, events, filters, body = parse(ctx)
        sub = hook.subscription
        sub.url, sub.events = url, frozenset(events or ["*"])
        sub.where = _where(filters.get(_FILTER))
        sub.active = bool(body.get("enabled", True))
        if "secret" in body:
            sub.secret = Secret(str(body["secret"] or ""))
        hook.name, hook.filters = name, filters
        hook.exclude_body = bool(body.get("excludeBody"))
        return render(ctx, hook)

    @emu.delete(base + "/{hook_id:int}", name="deleteWebhook")
    async def delete(ctx: RequestContext) -> Response:
        hook = hook_or_404(ctx)
        emu.webhooks.unsubscribe(hook.subscription)
        del hooks[hook.subscription.id]
        return ctx.no_content()
