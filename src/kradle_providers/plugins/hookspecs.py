"""pluggy hook specifications for provider plugins (entry-point group ``kradle_providers``)."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from kradle_providers.plugins.spec import ProviderPlugin

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "kradle_register_providers"]

PROJECT_NAME = "kradle_providers"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    """Call ``register(ProviderPlugin(...))`` once per provider the plugin ships.

    Keep the module that implements this hook free of heavy imports: name the
    adapter, normalizers and emulator by import string.
    """
