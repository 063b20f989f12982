"""Import-string resolution: ``"package.module:attr.path"`` -> the object.

Plugins name their adapter, normalizers, emulator and harness by import string
so that nothing heavy is imported until a provider is actually used.
"""

from __future__ import annotations

import importlib
from typing import Any

from kradle_providers.auth.secret import redact
from kradle_providers.errors import PluginLoadError

__all__ = ["import_string"]


def import_string(ref: str, *, what: str = "object") -> Any:
    """Import ``module`` and walk ``attr.path`` of ``"module:attr.path"``.

    Raises :class:`PluginLoadError` naming the reference and the cause (with
    secrets redacted) when the module does not import or the attribute is missing.
    """
    module_name, sep, attr_path = ref.partition(":")
    if not sep or not module_name or not attr_path:
        raise PluginLoadError(
            f"{what} reference {ref!r} is not of the form 'package.module:attribute'; "
            "fix the ProviderPlugin registration"
        )
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of third-party code
        raise PluginLoadError(
            redact(
                f"cannot import {what} module {module_name!r} ({ref}): "
                f"{type(exc).__name__}: {exc}; check that the plugin's distribution "
                "is installed with its dependencies"
            )
        ) from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise PluginLoadError(
                f"{what} reference {ref!r}: {part!r} not found; "
                "fix the import string in the ProviderPlugin registration"
            ) from exc
    return target
