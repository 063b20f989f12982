"""Lazy package façades: a package names where each export lives and imports it on first use.

A package ``__init__`` keeps its exports in ``if TYPE_CHECKING:`` imports (type checkers
and docs see them) and a ``{name: module}`` map, and sets
``__getattr__ = lazy_exports(__name__, HOMES)``, so importing the package costs nothing
and ``from package import Name`` still works (PEP 562).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``homes[name]`` imported on first access."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this hook
        return value

    return __getattr__
