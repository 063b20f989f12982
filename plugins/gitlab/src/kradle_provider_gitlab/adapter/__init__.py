"""The GitLab adapter: issue tracking, CI/CD and git forge over REST API v4.

Build it from a :class:`~kradle_providers.plugins.spec.ProviderConfig`
(``GitLabAdapter.from_config``), normally through the plugin registry, which
guards it by the manifest::

    registry.create_adapter("gitlab", ProviderConfig(auth=Secret("glpat-…")))

``config.api_base_url``: ``https://gitlab.com/api/v4`` (default) or a
self-managed ``https://HOST[/PREFIX]/api/v4``. ``config.auth``: an access
token (``Secret``, sent as ``PRIVATE-TOKEN``) or an auth scheme (``BearerAuth``
for OAuth). ``config.options``: ``page_size`` (default 100), ``on_rate_limit``
(``wait``/``raise``), ``user_agent``, ``cache``, ``clock``.
"""

from __future__ import annotations

from kradle_provider_gitlab.adapter.cicd import CiCdOperations
from kradle_provider_gitlab.adapter.client import (
    DEFAULT_BASE_URL,
    GitLabOptions,
    api_base_url,
    auth_from_config,
    gitlab_error_mapper,
)
from kradle_provider_gitlab.adapter.forge import ForgeOperations
from kradle_provider_gitlab.adapter.issues import IssueOperations
from kradle_provider_gitlab.adapter.joblog import JobLog, LogSection
from kradle_providers.plugins.spec import ProviderConfig

__all__ = [
    "DEFAULT_BASE_URL",
    "GitLabAdapter",
    "GitLabOptions",
    "JobLog",
    "LogSection",
    "api_base_url",
    "auth_from_config",
    "gitlab_error_mapper",
]


class GitLabAdapter(IssueOperations, CiCdOperations, ForgeOperations):
    """Every operation the manifest declares for GitLab (all but workflow transitions and
    pipeline definitions, which GitLab does not have).

    Also :meth:`read_job_log` (clean trace plus its collapsible sections).
    """

    provider_type = "gitlab"

    @classmethod
    def from_config(cls, config: ProviderConfig) -> GitLabAdapter:
        """The adapter for one GitLab instance (what the plugin registry calls)."""
        return cls(config)
