"""The three protocols, pages and the operation catalogue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kradle_providers._lazy import lazy_exports

if TYPE_CHECKING:
    from kradle_providers.protocols.adapter import ProviderAdapter
    from kradle_providers.protocols.catalogue import (
        CATALOGUE,
        OPERATIONS,
        Call,
        Effect,
        Operation,
        Shape,
        camel_to_snake,
        operations_of,
        snake_to_camel,
    )
    from kradle_providers.protocols.interfaces import CiCd, GitForge, IssueTracking, is_implemented
    from kradle_providers.protocols.page import (
        Page,
        collect,
        decode_cursor,
        encode_cursor,
        iterate_pages,
    )

__all__ = [
    "CATALOGUE",
    "OPERATIONS",
    "Call",
    "CiCd",
    "Effect",
    "GitForge",
    "IssueTracking",
    "Operation",
    "Page",
    "ProviderAdapter",
    "Shape",
    "camel_to_snake",
    "collect",
    "decode_cursor",
    "encode_cursor",
    "is_implemented",
    "iterate_pages",
    "operations_of",
    "snake_to_camel",
]

# Each name's module, imported on first access so importing the package stays cheap.
_HOMES = {
    "ProviderAdapter": "kradle_providers.protocols.adapter",
    "CATALOGUE": "kradle_providers.protocols.catalogue",
    "OPERATIONS": "kradle_providers.protocols.catalogue",
    "Call": "kradle_providers.protocols.catalogue",
    "Effect": "kradle_providers.protocols.catalogue",
    "Operation": "kradle_providers.protocols.catalogue",
    "Shape": "kradle_providers.protocols.catalogue",
    "camel_to_snake": "kradle_providers.protocols.catalogue",
    "operations_of": "kradle_providers.protocols.catalogue",
    "snake_to_camel": "kradle_providers.protocols.catalogue",
    "CiCd": "kradle_providers.protocols.interfaces",
    "GitForge": "kradle_providers.protocols.interfaces",
    "IssueTracking": "kradle_providers.protocols.interfaces",
    "is_implemented": "kradle_providers.protocols.interfaces",
    "Page": "kradle_providers.protocols.page",
    "collect": "kradle_providers.protocols.page",
    "decode_cursor": "kradle_providers.protocols.page",
    "encode_cursor": "kradle_providers.protocols.page",
    "iterate_pages": "kradle_providers.protocols.page",
}


__getattr__ = lazy_exports(__name__, _HOMES)
