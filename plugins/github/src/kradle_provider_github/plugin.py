"""Entry point of the GitHub provider: a pluggy hook and nothing heavier.

Importing this module imports no adapter, HTTP or crypto code: the registry
resolves the import strings below only when the provider is used, and reads
the manifest as package data.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin

__all__ = ["DISTRIBUTION", "GITHUB_PLUGIN", "kradle_register_providers"]

DISTRIBUTION = "kradle-provider-github"


def _version() -> str | None:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree without installing
        return None


GITHUB_PLUGIN = ProviderPlugin(
    name="github",
    manifest="kradle_provider_github:manifest.yaml",
    adapter="kradle_provider_github.adapter:GitHubAdapter.from_config",
    normalizers="kradle_provider_github.normalizers:NORMALIZERS",
    webhooks="kradle_provider_github.webhooks:WEBHOOKS",
    auth_forms="kradle_provider_github.auth_forms:AUTH_FORMS",
    emulator="kradle_provider_github.emulator:create_emulator",
    harness="kradle_provider_github.harness:create_harness",
    version=_version(),
    distribution=DISTRIBUTION,
)
"""The GitHub provider as registered."""


@hookimpl
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    """Register the GitHub provider."""
    register(GITHUB_PLUGIN)
