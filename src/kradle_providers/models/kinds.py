"""The canonical kinds by name, and which belong to an interface."""

from __future__ import annotations

from typing import get_args

from kradle_providers.models.base import CanonicalObject, Interface
from kradle_providers.models.events import AnyCanonical

__all__ = ["CANONICAL_KINDS", "kinds_of"]

# AnyCanonical is Annotated[Issue | Comment | ..., discriminator]: its members, in order.
CANONICAL_KINDS: dict[str, type[CanonicalObject]] = {
    cls.__name__: cls for cls in get_args(get_args(AnyCanonical)[0])
}
"""Every canonical kind by name, in SPEC §3 order."""


def kinds_of(interface: Interface) -> list[str]:
    """The canonical kind names that belong to ``interface``."""
    return [name for name, cls in CANONICAL_KINDS.items() if cls.interface is interface]
