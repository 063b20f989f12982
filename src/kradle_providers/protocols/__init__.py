"""The three protocols, pages and the operation catalogue."""

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
