"""``/app``, installation tokens, ``/user`` and ``/rate_limit``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_providers.testing.emulator import RequestContext, iso_z

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["register"]


class MetaRoutes:
    """Handlers of the App, user and rate-limit endpoints."""

    def __init__(self, em: GitHubEmulator) -> None:
        self.em = em

    def _require_app(self, ctx: RequestContext) -> None:
        identity = ctx.principal.identity if ctx.principal else None
        if not identity or identity.get("kind") != "app":
            ctx.fail(401, "A JSON web token could not be decoded")

    async def get_app(self, ctx: RequestContext) -> Response:
        """``GET /app``: the authenticated App (JWT only)."""
        self._require_app(ctx)
        return ctx.json(self.em.render(ctx).app(self.em.app_record))

    async def create_installation_token(self, ctx: RequestContext) -> Response:
        """``POST /app/installations/{id}/access_tokens``: a one-hour ``ghs_`` token."""
        self._require_app(ctx)
        if ctx.params["installation_id"] != self.em.installation_id:
            ctx.not_found()
        body = self.em.body(ctx)
        permissions = dict(self.em.app_record["permissions"])
        requested = body.get("permissions")
        if isinstance(requested, dict):
            for name, level in requested.items():
                if name not in permissions:
                    ctx.fail(
                        422,
                        "The permissions requested are not granted to this installation.",
                    )
                permissions = {**{k: v for k, v in permissions.items() if k in requested}}
                permissions[name] = level
        token, expires = self.em.mint_installation_token()
        out: dict[str, Any] = {
            "token": token,
            "expires_at": iso_z(expires),
            "permissions": permissions,
            "repository_selection": "selected" if body.get("repositories") else "all",
        }
        return ctx.json(out, status=201)

    async def get_user(self, ctx: RequestContext) -> Response:
        """``GET /user``: the token's user (``private-user``)."""
        identity = ctx.principal.identity if ctx.principal else None
        if not identity:
            ctx.fail(401, "Requires authentication")
        if identity.get("kind") != "user":
            ctx.fail(403, "Resource not accessible by integration")
        user = self.em.state.user(identity["login"])
        if user is None:
            ctx.not_found()
        scopes = self.em.token_scopes
        headers = {"X-OAuth-Scopes": scopes} if scopes is not None else None
        return ctx.json(self.em.render(ctx).private_user(user), headers=headers)

    def _graphql_budget(self, ctx: RequestContext) -> dict[str, Any]:
        budget = self.em.graphql_rate_limiter.budget(ctx.credential)
        return {
            "limit": budget.limit,
            "remaining": budget.remaining,
            "reset": math.ceil(budget.reset_at),
            "used": budget.used,
            "resource": "graphql",
        }

    async def rate_limit(self, ctx: RequestContext) -> Response:
        """``GET /rate_limit`` (free): the caller's budgets."""
        limiter = self.em.rate_limiter
        assert limiter is not None
        budget = limiter.budget(ctx.credential)
        core = {
            "limit": budget.limit,
            "remaining": budget.remaining,
            "reset": math.ceil(budget.reset_at),
            "used": budget.used,
            "resource": "core",
        }
        reset = math.ceil(budget.reset_at)

        def other(resource: str, limit: int) -> dict[str, Any]:
            return {
                "limit": limit,
                "remaining": limit,
                "reset": reset,
                "used": 0,
                "resource": resource,
            }

        resources = {
            "core": core,
            "search": other("search", 30),
            "graphql": self._graphql_budget(ctx),
            "integration_manifest": other("integration_manifest", 5000),
            "code_search": other("code_search", 10),
        }
        rate = {k: v for k, v in core.items() if k != "resource"}
        return ctx.json({"resources": resources, "rate": rate})

    async def job_log(self, ctx: RequestContext) -> Response:
        """The log download a job's ``logs`` redirect points at (plain text, no auth)."""
        job = self.em.state.jobs.get(ctx.params["job_id"])
        if job is None or ctx.query.get("sig") != self.em.log_signature(job["id"]):
            return Response("BlobNotFound", status_code=404, media_type="text/plain")
        return Response(job.get("log", ""), media_type="text/plain; charset=utf-8")


def register(em: GitHubEmulator) -> None:
    """Register the routes on ``em``."""
    h = MetaRoutes(em)
    em.route("GET", "/app", h.get_app, name="getApp")
    em.route(
        "POST",
        "/app/installations/{installation_id:int}/access_tokens",
        h.create_installation_token,
        name="createInstallationAccessToken",
    )
    em.route("GET", "/user", h.get_user, name="getAuthenticatedUser")
    em.route("GET", "/rate_limit", h.rate_limit, name="getRateLimit", charge=False)
    em.route(
        "GET",
        "/_emulator/logs/{job_id:int}",
        h.job_log,
        name="downloadJobLog",
        public=True,
        charge=False,
    )
