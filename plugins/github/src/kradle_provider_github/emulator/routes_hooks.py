"""Repository webhooks: ``/repos/{owner}/{repo}/hooks`` and their delivery log.

A hook is a subscription of the emulator's emitter limited to its
repository's payloads: ``POST`` creates one (``config.url`` required, 422
otherwise; events default to ``push``), ``PATCH`` replaces ``events`` (or
``add_events``/``remove_events``), ``active`` and ``config``; ``DELETE``
removes it. The secret is never shown back (``config.secret`` reads
``********``, as on GitHub). ``GET .../hooks/{id}/deliveries`` lists the hook's
deliveries newest first (``guid`` is the ``X-GitHub-Delivery``; ``status_code``
0 when the receiver could not be reached) and ``POST .../deliveries/{id}/attempts``
sends one again (same guid and body, ``redelivery: true``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_providers.auth.secret import Secret
from kradle_providers.testing.emulator import RequestContext, iso_z
from kradle_providers.testing.emulator.webhooks import Delivery, Subscription

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["register"]


def _about(full_name: str) -> Any:
    wanted = full_name.lower()

    def where(payload: Mapping[str, Any]) -> bool:
        repo = payload.get("repository")
        return isinstance(repo, Mapping) and str(repo.get("full_name", "")).lower() == wanted

    return where


class HookRoutes:
    """The handlers, bound to one emulator."""

    def __init__(self, em: GitHubEmulator) -> None:
        self.em = em
        # hook id -> repository full name (which hooks belong to which repository).
        self.owner_of: dict[int, str] = {}

    def _hooks(self, repo: Mapping[str, Any]) -> list[Subscription]:
        name = repo["full_name"]
        return [s for s in self.em.webhooks.subscriptions if self.owner_of.get(s.id) == name]

    def _hook_or_404(self, ctx: RequestContext) -> tuple[dict[str, Any], Subscription]:
        repo = self.em.repo_or_404(ctx)
        for hook in self._hooks(repo):
            if hook.id == ctx.params["hook_id"]:
                return repo, hook
        ctx.not_found()

    def _render(self, ctx: RequestContext, repo: Mapping[str, Any], hook: Subscription) -> Any:
        base = f"{str(ctx.request.base_url).rstrip('/')}/repos/{repo['full_name']}/hooks/{hook.id}"
        now = iso_z(self.em.clock())
        return {
            "type": "Repository",
            "id": hook.id,
            "name": "web",
            "active": hook.active,
            "events": sorted(hook.events),
            "config": {
                "content_type": "json",
                "insecure_ssl": "0",
                "url": hook.url,
                **({"secret": "********"} if hook.secret.reveal() else {}),
            },
            "updated_at": now,
            "created_at": now,
            "url": base,
            "test_url": f"{base}/test",
            "ping_url": f"{base}/pings",
            "deliveries_url": f"{base}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        }

    async def list_hooks(self, ctx: RequestContext) -> Response:
        repo = self.em.repo_or_404(ctx)
        return ctx.json([self._render(ctx, repo, h) for h in self._hooks(repo)])

    async def create_hook(self, ctx: RequestContext) -> Response:
        repo = self.em.repo_or_404(ctx)
        self.em.sender(ctx)
        body = ctx.json_body()
        config = body.get("config") if isinstance(body, dict) else None
        if not isinstance(config, dict):
            config = {}
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise self.em.invalid("Hook", "url", "missing_field")
        events = body.get("events") or ["push"]
        hook = self.em.webhooks.subscribe(
            url,
            str(config.get("secret") or ""),
            events=list(events),
            where=_about(repo["full_name"]),
        )
        hook.active = bool(body.get("active", True))
        self.owner_of[hook.id] = repo["full_name"]
        return ctx.json(self._render(ctx, repo, hook), status=201)

    async def update_hook(self, ctx: RequestContext) -> Response:
        repo, hook = self._hook_or_404(ctx)
        self.em.sender(ctx)
        body = ctx.json_body()
        events = set(hook.events)
        if "events" in body:
            events = set(body["events"])
        events |= set(body.get("add_events") or [])
        events -= set(body.get("remove_events") or [])
        hook.events = frozenset(events)
        if "active" in body:
            hook.active = bool(body["active"])
        config = body.get("config")
        if isinstance(config, dict):
            hook.url = str(config.get("url") or hook.url)
            if "secret" in config:
                hook.secret = Secret(str(config["secret"] or ""))
        return ctx.json(self._render(ctx, repo, hook))

    async def delete_hook(self, ctx: RequestContext) -> Response:
        _, hook = self._hook_or_404(ctx)
        self.em.sender(ctx)
        self.em.webhooks.unsubscribe(hook)
        self.owner_of.pop(hook.id, None)
        return ctx.no_content()

    def _deliveries(self, hook: Subscription) -> list[Delivery]:
        mine = [
            d
            for d in self.em.webhooks.deliveries
            if d.headers.get("x-github-hook-id") == str(hook.id) and d.attempts
        ]
        return list(reversed(mine))

    async def list_deliveries(self, ctx: RequestContext) -> Response:
        repo, hook = self._hook_or_404(ctx)
        out = []
        # One log entry per attempt, as GitHub lists them (newest first).
        for delivery in self._deliveries(hook):
            for n, attempt in reversed(list(enumerate(delivery.attempts))):
                out.append(
                    {
                        "id": _entry_id(delivery, n),
                        "guid": delivery.id,
                        "delivered_at": iso_z(attempt.time),
                        "redelivery": attempt.redelivery,
                        "duration": 0.01,
                        "status": "OK" if attempt.ok else (attempt.error or "failed"),
                        "status_code": attempt.status or 0,
                        "event": delivery.event,
                        "action": _action(delivery),
                        "installation_id": None,
                        "repository_id": repo["id"],
                    }
                )
        return ctx.json(out)

    async def redeliver(self, ctx: RequestContext) -> Response:
        _, hook = self._hook_or_404(ctx)
        self.em.sender(ctx)
        wanted = int(ctx.params["delivery_id"])
        for delivery in self._deliveries(hook):
            ids = {_entry_id(delivery, n) for n in range(len(delivery.attempts))}
            if wanted in ids:
                delivery.url = hook.url  # sent where the hook points now
                await self.em.webhooks.redeliver(delivery, app=hook.app)
                return ctx.json({}, status=202)
        ctx.not_found()


def _entry_id(delivery: Delivery, attempt: int) -> int:
    # An integer (as GitHub's), stable per (delivery, attempt): guid bits, attempt number.
    return int(delivery.id.replace("-", "")[:12], 16) * 100 + attempt


def _action(delivery: Delivery) -> str | None:
    action = delivery.payload.get("action") if isinstance(delivery.payload, dict) else None
    return action if isinstance(action, str) else None


def register(em: GitHubEmulator) -> None:
    """Register the routes on ``em``."""
    h = HookRoutes(em)
    base = "/repos/{owner}/{repo}/hooks"
    em.route("GET", base, h.list_hooks, name="listRepoHooks")
    em.route("POST", base, h.create_hook, name="createRepoHook")
    em.route("PATCH", base + "/{hook_id:int}", h.update_hook, name="updateRepoHook")
    em.route("DELETE", base + "/{hook_id:int}", h.delete_hook, name="deleteRepoHook")
    em.route(
        "GET", base + "/{hook_id:int}/deliveries", h.list_deliveries, name="listHookDeliveries"
    )
    em.route(
        "POST",
        base + "/{hook_id:int}/deliveries/{delivery_id:int}/attempts",
        h.redeliver,
        name="redeliverHookDelivery",
    )
