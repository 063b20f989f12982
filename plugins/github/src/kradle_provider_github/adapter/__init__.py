"""The GitHub adapter: issue tracking, CI/CD (Actions, Checks) and git forge.

Build it from a :class:`~kradle_providers.plugins.spec.ProviderConfig`
(``GitHubAdapter.from_config``), normally through the plugin registry, which
guards it by the manifest::

    registry.create_adapter("github", ProviderConfig(auth=GitHubAppAuth(...)))

``config.api_base_url``: ``https://api.github.com`` (default) or
``https://HOST/api/v3`` for Enterprise Server (GraphQL at ``/api/graphql``).
``config.options``: ``page_size`` (default 100), ``on_rate_limit``
(``wait``/``raise``), ``user_agent``, ``cache`` (a shared ConditionalCache).
"""

from __future__ import annotations

from kradle_provider_github.adapter.cicd import CiCdOperations
from kradle_provider_github.adapter.client import (
    DEFAULT_BASE_URL,
    GitHubOptions,
    auth_from_config,
    derive_urls,
    github_error_mapper,
)
from kradle_provider_github.adapter.credentials import CredentialOperations
from kradle_provider_github.adapter.forge import ForgeOperations
from kradle_provider_github.adapter.hooks import HookOperations
from kradle_provider_github.adapter.issues import IssueOperations
from kradle_providers.plugins.spec import ProviderConfig

__all__ = [
    "DEFAULT_BASE_URL",
    "GitHubAdapter",
    "GitHubOptions",
    "auth_from_config",
    "derive_urls",
    "github_error_mapper",
]


class GitHubAdapter(
    IssueOperations, CiCdOperations, ForgeOperations, CredentialOperations, HookOperations
):
    """Every SPEC §4 operation GitHub supports (all but Jira-style transitions).

    Also :meth:`hydrate_reviews` (GraphQL bulk review hydration for backfills).
    """

    provider_type = "github"

    @classmethod
    def from_config(cls, config: ProviderConfig) -> GitHubAdapter:
        """The adapter for one GitHub instance (what the plugin registry calls)."""
        return cls(config)
