"""The Buildkite adapter: CI/CD only.

Build it from a :class:`~kradle_providers.plugins.spec.ProviderConfig`
(``BuildkiteAdapter.from_config``), normally through the plugin registry, which
guards it by the manifest::

    registry.create_adapter("buildkite", ProviderConfig(auth=Secret(token)))

Scope: ``ExternalRef(owner="acme", pipeline="widgets")`` (organization and
pipeline slugs). ``config.api_base_url``: ``https://api.buildkite.com/v2``
(default). ``config.options``: ``page_size`` (default 100), ``on_rate_limit``
(``wait``/``raise``), ``user_agent``, ``cluster`` (for agent tokens), ``cache``.
"""

from __future__ import annotations

from kradle_provider_buildkite.adapter.cicd import CiCdOperations
from kradle_provider_buildkite.adapter.client import (
    DEFAULT_BASE_URL,
    BuildkiteOptions,
    auth_from_config,
    buildkite_error_mapper,
)
from kradle_providers.plugins.spec import ProviderConfig

__all__ = [
    "DEFAULT_BASE_URL",
    "BuildkiteAdapter",
    "BuildkiteOptions",
    "auth_from_config",
    "buildkite_error_mapper",
]


class BuildkiteAdapter(CiCdOperations):
    """Every SPEC §4 CI/CD operation Buildkite supports (all but checks), plus ``unblock_job``."""

    provider_type = "buildkite"

    @classmethod
    def from_config(cls, config: ProviderConfig) -> BuildkiteAdapter:
        """The adapter for one Buildkite organization (what the plugin registry calls)."""
        return cls(config)
