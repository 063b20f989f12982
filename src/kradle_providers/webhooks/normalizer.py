"""The contract of a webhook normalizer: one native event -> canonical sync events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kradle_providers.models.base import ProviderRef
from kradle_providers.models.events import NormalizeResult

__all__ = ["EventNormalizer", "NormalizeContext"]


@dataclass(frozen=True)
class NormalizeContext:
    """Facts about one delivery a normalizer may use (never the secret)."""

    provider: ProviderRef
    event: str
    delivery_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


EventNormalizer = Callable[[NormalizeContext, Mapping[str, Any]], NormalizeResult]
"""A function from (context, parsed payload) to a :class:`NormalizeResult`.

It must not raise on a malformed payload: return ``outcome=malformed`` with a reason.
"""
