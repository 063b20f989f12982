"""The plugin area: registry, guarded adapter, binding selection, installed validation.

Provider plugins import :mod:`kradle_providers.plugins.hookspecs` and
:mod:`kradle_providers.plugins.spec` from their (light) entry-point modules, so
this package imports nothing at load time; the names below resolve lazily.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_providers.plugins.guard import GuardedAdapter
    from kradle_providers.plugins.registry import (
        LoadError,
        PluginInfo,
        Registry,
        UnknownProvider,
        load_registry,
    )
    from kradle_providers.plugins.selection import (
        BindingMode,
        BindingRefused,
        check_binding_interface,
        select,
        select_binding,
    )
    from kradle_providers.plugins.spec import ProviderConfig, ProviderPlugin

__all__ = [
    "BindingMode",
    "BindingRefused",
    "GuardedAdapter",
    "LoadError",
    "PluginInfo",
    "ProviderConfig",
    "ProviderPlugin",
    "Registry",
    "UnknownProvider",
    "check_binding_interface",
    "load_registry",
    "select",
    "select_binding",
]

_HOMES = {
    "GuardedAdapter": "guard",
    "LoadError": "registry",
    "PluginInfo": "registry",
    "Registry": "registry",
    "UnknownProvider": "registry",
    "load_registry": "registry",
    "BindingMode": "selection",
    "BindingRefused": "selection",
    "check_binding_interface": "selection",
    "select": "selection",
    "select_binding": "selection",
    "ProviderConfig": "spec",
    "ProviderPlugin": "spec",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
