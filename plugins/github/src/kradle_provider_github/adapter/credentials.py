"""Who a GitHub credential is and what it may do (``check_credentials``).

``GET /user`` names a user token's login; classic tokens list their OAuth
scopes in ``X-OAuth-Scopes``, translated here to the App permission names the
manifest's ``nativeScopes`` use. Installation tokens cannot read ``/user``
(403 "Resource not accessible by integration"); fine-grained tokens report no
scopes (``native_scopes`` stays unknown). ``GET /rate_limit`` is free and gives
the core budget.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kradle_provider_github.adapter.client import GitHubBase
from kradle_providers.errors import PermissionDenied
from kradle_providers.protocols.credentials import CredentialReport

__all__ = ["CLASSIC_SCOPES", "CredentialOperations"]

_REPO = ("contents", "issues", "pull_requests", "statuses", "checks", "actions", "metadata")
CLASSIC_SCOPES: dict[str, frozenset[str]] = {
    # `repo` is full control of repositories (deploy keys and branch protection included
    # for admins) but not Actions workflows nor check runs (those are GitHub Apps' only).
    "repo": frozenset(f"{p}:{a}" for p in (*_REPO, "administration") for a in ("read", "write"))
    - {"actions:write", "checks:write"},
    "public_repo": frozenset({"contents:read", "issues:write", "pull_requests:write"}),
    "workflow": frozenset({"actions:read", "actions:write"}),
    "admin:repo_hook": frozenset({"repository_hooks:read", "repository_hooks:write"}),
    "admin:org": frozenset({"administration:read", "administration:write", "members:read"}),
}
"""Classic OAuth scope -> the App permissions (manifest ``nativeScopes``) it grants."""


def permissions_of(scopes: list[str]) -> frozenset[str]:
    """The App permission names a classic token's OAuth ``scopes`` grant."""
    out: set[str] = set()
    for scope in scopes:
        out |= CLASSIC_SCOPES.get(scope, frozenset())
    # A write permission implies reading the same resource.
    out |= {p.replace(":write", ":read") for p in out if p.endswith(":write")}
    return frozenset(out)


class CredentialOperations(GitHubBase):
    """``check_credentials`` for GitHub."""

    async def check_credentials(self) -> CredentialReport:
        """The token's user (or installation), its scopes and its core rate-limit budget."""
        identity: str | None = None
        kind = "app-installation"
        raw_scopes: list[str] = []
        native: frozenset[str] | None = None
        try:
            response = await self.http.get("/user")
        except PermissionDenied:
            pass  # an installation token: /user is not accessible by integration
        else:
            user = response.json()
            identity = user.get("login") if isinstance(user, dict) else None
            kind = "bot" if isinstance(user, dict) and user.get("type") == "Bot" else "user"
            header = response.headers.get("x-oauth-scopes")
            if header is not None:
                raw_scopes = [s.strip() for s in header.split(",") if s.strip()]
                native = permissions_of(raw_scopes)
        core = (await self.http.get("/rate_limit")).json().get("resources", {}).get("core", {})
        reset = core.get("reset")
        return CredentialReport(
            identity=identity,
            kind=kind,
            native_scopes=native,
            scopes=tuple(raw_scopes),
            rate_limit_remaining=core.get("remaining"),
            rate_limit_limit=core.get("limit"),
            rate_limit_reset=datetime.fromtimestamp(reset, UTC)
            if isinstance(reset, int | float)
            else None,
            notes=()
            if native is not None
            else ("GitHub reports no scopes for this token (fine-grained or installation)",),
        )
