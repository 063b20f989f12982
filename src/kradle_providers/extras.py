"""Optional parts of the stack (pip extras), imported only where they are used.

A library user needs none of these; the command line's terminal UI
(``kradle-providers[cli]``: rich) and the HTTP server that serves receivers and
emulators (``kradle-providers[server]``: uvicorn) are extras.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from kradle_providers.errors import KradleError

__all__ = ["MissingExtra", "has_extra", "require_extra"]


class MissingExtra(KradleError):
    """An optional dependency is not installed; the message names the extra to install."""


def require_extra(module: str, extra: str, *, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` naming ``kradle-providers[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{purpose} needs {module.split('.')[0]}, which is not installed; "
            f"install it with: pip install 'kradle-providers[{extra}]'"
        ) from None


def has_extra(module: str) -> bool:
    """Whether ``module`` can be imported (to fall back quietly where that is fine)."""
    return importlib.util.find_spec(module) is not None
