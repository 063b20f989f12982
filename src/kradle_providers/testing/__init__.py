"""Testing support: the in-memory reference provider ``memory`` and the emulator framework.

Import-light on purpose: the plugin entry point imports this package, so the
adapter and backend load only when first used (``kradle_providers.testing.MemoryAdapter``
works, lazily).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_providers.clock import StepClock
    from kradle_providers.testing.memory import MemoryAdapter
    from kradle_providers.testing.memory_backend import MemoryBackend

__all__ = ["MemoryAdapter", "MemoryBackend", "StepClock"]

_LAZY = {
    "MemoryAdapter": "kradle_providers.testing.memory",
    "MemoryBackend": "kradle_providers.testing.memory_backend",
    "StepClock": "kradle_providers.clock",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
