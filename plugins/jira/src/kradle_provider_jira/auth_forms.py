"""The credential forms a Jira binding may use (``ProviderPlugin.auth_forms``).

``{basic: {username, password}}`` (Cloud: email + API token; Data Center:
username + password), ``{bearer: REF}`` (Data Center personal access token,
OAuth 2.0) and ``{token: REF}`` (the same, sent as a bearer token).
"""

from __future__ import annotations

from kradle_providers.auth.forms import BASIC, BEARER, TOKEN

__all__ = ["AUTH_FORMS"]

AUTH_FORMS = (
    BASIC.for_modes("cloud-api-token", "basic"),
    BEARER.for_modes("personal-access-token", "oauth2"),
    TOKEN.for_modes("personal-access-token"),
)
"""Every form a Jira instance accepts."""
