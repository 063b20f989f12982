"""Entry point: registers the ``acme`` provider with import strings only (stays light)."""

from __future__ import annotations

from collections.abc import Callable

from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin

__all__ = ["ACME", "kradle_register_providers"]

ACME = ProviderPlugin(
    name="acme",
    manifest="kradle_provider_acme:manifest.yaml",
    adapter="kradle_provider_acme.adapter:AcmeAdapter.from_config",
    normalizers="kradle_provider_acme.normalizers:NORMALIZERS",
    webhooks="kradle_provider_acme.webhooks:WEBHOOKS",
    emulator="kradle_provider_acme.emulator:create_emulator",
    harness="kradle_provider_acme.harness:create_harness",
    distribution="kradle-provider-acme",
)


@hookimpl
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    """Register the Acme provider."""
    register(ACME)
