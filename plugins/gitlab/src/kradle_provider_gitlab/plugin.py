"""Entry point of the GitLab provider: a pluggy hook and nothing heavier.

Importing this module imports no adapter, HTTP or crypto code: the registry
resolves the import strings below only when the provider is used, and reads
the manifest as package data.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin

__all__ = ["DISTRIBUTION", "GITLAB_PLUGIN", "kradle_register_providers"]

DISTRIBUTION = "kradle-provider-gitlab"


def _version() -> str | None:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree without installing
        return None


GITLAB_PLUGIN = ProviderPlugin(
    name="gitlab",
    manifest="kradle_provider_gitlab:manifest.yaml",
    adapter="kradle_provider_gitlab.adapter:GitLabAdapter.from_config",
    normalizers="kradle_provider_gitlab.normalizers:NORMALIZERS",
    emulator="kradle_provider_gitlab.emulator:create_emulator",
    harness="kradle_provider_gitlab.harness:create_harness",
    webhooks="kradle_provider_gitlab.webhooks:WEBHOOKS",
    version=_version(),
    distribution=DISTRIBUTION,
)
"""The GitLab provider as registered."""


@hookimpl
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    """Register the GitLab provider."""
    register(GITLAB_PLUGIN)
