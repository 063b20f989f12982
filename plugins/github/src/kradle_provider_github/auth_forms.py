"""The credential forms a GitHub binding may use (``ProviderPlugin.auth_forms``).

``{token: REF}`` (a personal access token), ``{bearer: REF}`` (an OAuth user
token) and ``{githubApp: {appId, installationId, privateKey: REF}}`` (an App
installation: JWTs signed with the key, installation tokens minted and cached).
"""

from __future__ import annotations

from typing import Any

from kradle_providers.auth.forms import BEARER, TOKEN, AuthContext, AuthForm, FormModel
from kradle_providers.auth.refs import SecretRef

__all__ = ["AUTH_FORMS", "GITHUB_APP", "GitHubAppCredentials"]


class GitHubAppCredentials(FormModel):
    """A GitHub App installation: app id, installation id, private key reference."""

    app_id: int | str
    installation_id: int | str
    private_key: SecretRef


async def _github_app(creds: GitHubAppCredentials, ctx: AuthContext) -> Any:
    # Imported on use: PyJWT and cryptography load only when a JWT is signed.
    from kradle_provider_github.app_auth import GitHubAppAuth

    kwargs: dict[str, Any] = {}
    if ctx.api_base_url:
        kwargs["base_url"] = ctx.api_base_url
    if ctx.transport is not None:
        kwargs["http"] = ctx.transport
    key = await ctx.resolver.resolve(creds.private_key)
    return GitHubAppAuth(creds.app_id, key, creds.installation_id, **kwargs)


GITHUB_APP = AuthForm(
    "githubApp",
    GitHubAppCredentials,
    _github_app,
    modes=("github-app",),
    description="a GitHub App installation: {appId, installationId, privateKey}",
)
"""``{githubApp: {appId, installationId, privateKey: REF}}``."""

AUTH_FORMS = (
    TOKEN.for_modes("personal-access-token"),
    BEARER.for_modes("oauth-user"),
    GITHUB_APP,
)
"""Every form a GitHub instance accepts."""
