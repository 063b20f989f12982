"""Entry point of the Jira provider: a pluggy hook and nothing heavier.

Importing this module imports no adapter, HTTP or rich-text code: the registry
resolves the import strings below only when the provider is used, and reads
the manifest as package data.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin

__all__ = ["DISTRIBUTION", "JIRA_PLUGIN", "kradle_register_providers"]

DISTRIBUTION = "kradle-provider-jira"


def _version() -> str | None:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree without installing
        return None


JIRA_PLUGIN = ProviderPlugin(
    name="jira",
    manifest="kradle_provider_jira:manifest.yaml",
    adapter="kradle_provider_jira.adapter:JiraAdapter.from_config",
    normalizers="kradle_provider_jira.normalizers:NORMALIZERS",
    webhooks="kradle_provider_jira.webhooks:WEBHOOKS",
    auth_forms="kradle_provider_jira.auth_forms:AUTH_FORMS",
    emulator="kradle_provider_jira.emulator:create_emulator",
    harness="kradle_provider_jira.harness:create_harness",
    version=_version(),
    distribution=DISTRIBUTION,
)
"""The Jira provider as registered."""


@hookimpl
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    """Register the Jira provider."""
    register(JIRA_PLUGIN)
