"""Entry point of the built-in ``memory`` provider: a pluggy hook, nothing heavier.

Importing this module must not import the adapter or the backend; the registry
resolves them from the import strings below only when the provider is used.
"""

from __future__ import annotations

from collections.abc import Callable

import kradle_providers
from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin

__all__ = ["MEMORY_PLUGIN", "kradle_register_providers"]

MEMORY_PLUGIN = ProviderPlugin(
    name="memory",
    manifest="kradle_providers.testing:memory_manifest.yaml",
    adapter="kradle_providers.testing.memory:MemoryAdapter.from_config",
    normalizers="kradle_providers.testing.memory_events:NORMALIZERS",
    webhooks="kradle_providers.testing.memory_webhooks:WEBHOOKS",
    emulator=None,
    harness="kradle_providers.testing.memory_harness:create_harness",
    version=kradle_providers.__version__,
    distribution="kradle-providers",
)
"""The memory provider as registered."""


@hookimpl
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    """Register the in-memory reference provider."""
    register(MEMORY_PLUGIN)
