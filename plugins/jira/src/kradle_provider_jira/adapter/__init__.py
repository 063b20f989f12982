"""The Jira adapter: issue tracking on Jira Cloud (REST v3) and Data Center (REST v2).

Build it from a :class:`~kradle_providers.plugins.spec.ProviderConfig`
(``JiraAdapter.from_config``), normally through the plugin registry, which
guards it by the manifest::

    registry.create_adapter(
        "jira",
        ProviderConfig(
            api_base_url="https://acme.atlassian.net",
            auth=BasicAuth("me@example.com", Secret(api_token)),
        ),
    )

``config.api_base_url``: the Cloud site or the Data Center base URL.
``config.auth``: BasicAuth (Cloud email + API token, DC username + password),
BearerAuth (DC personal access token, Cloud OAuth 2.0), or a bare token (bearer).
``config.options``: ``flavor`` (``cloud``/``datacenter``; detected from
serverInfo when absent), ``page_size`` (default 50), ``on_rate_limit``
(``wait``/``raise``), ``site``, ``time_zone``, ``issue_type``.
"""

from __future__ import annotations

from kradle_provider_jira.adapter.catalog import CatalogOperations
from kradle_provider_jira.adapter.client import (
    CLOUD_API,
    DATACENTER_API,
    Flavor,
    JiraOptions,
    auth_from_config,
    flavor_from_server_info,
    jira_error_mapper,
)
from kradle_provider_jira.adapter.comments import CommentOperations
from kradle_provider_jira.adapter.credentials import CredentialOperations
from kradle_provider_jira.adapter.events import EventOperations
from kradle_provider_jira.adapter.hooks import HookOperations
from kradle_provider_jira.adapter.issues import IssueOperations
from kradle_providers.plugins.spec import ProviderConfig

__all__ = [
    "CLOUD_API",
    "DATACENTER_API",
    "Flavor",
    "JiraAdapter",
    "JiraOptions",
    "auth_from_config",
    "flavor_from_server_info",
    "jira_error_mapper",
]


class JiraAdapter(
    IssueOperations,
    CommentOperations,
    EventOperations,
    CatalogOperations,
    CredentialOperations,
    HookOperations,
):
    """Every IssueTracking operation Jira supports (all but ``sync_labels``)."""

    provider_type = "jira"

    @classmethod
    def from_config(cls, config: ProviderConfig) -> JiraAdapter:
        """The adapter for one Jira instance (what the plugin registry calls)."""
        return cls(config)
