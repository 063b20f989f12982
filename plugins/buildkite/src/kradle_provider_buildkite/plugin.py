"""Entry point of the Buildkite provider: a pluggy hook and nothing heavier.

Importing this module imports no adapter, HTTP or crypto code: the registry
resolves the import strings below only when the provider is used, and reads
the manifest as package data.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin

__all__ = ["BUILDKITE_PLUGIN", "DISTRIBUTION", "kradle_register_providers"]

DISTRIBUTION = "kradle-provider-buildkite"


def _version() -> str | None:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree without installing
        return None


BUILDKITE_PLUGIN = ProviderPlugin(
    name="buildkite",
    manifest="kradle_provider_buildkite:manifest.yaml",
    adapter="kradle_provider_buildkite.adapter:BuildkiteAdapter.from_config",
    normalizers="kradle_provider_buildkite.normalizers:NORMALIZERS",
    webhooks="kradle_provider_buildkite.webhooks:WEBHOOKS",
    emulator="kradle_provider_buildkite.emulator:create_emulator",
    harness="kradle_provider_buildkite.harness:create_harness",
    version=_version(),
    distribution=DISTRIBUTION,
)
"""The Buildkite provider as registered."""


@hookimpl
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    """Register the Buildkite provider."""
    register(BUILDKITE_PLUGIN)
