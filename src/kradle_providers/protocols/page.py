"""Pages with opaque cursors, and a lazy iterator over all of them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from kradle_providers.errors import InvalidInput

__all__ = ["Page", "collect", "decode_cursor", "encode_cursor", "iterate_pages"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing.

    ``next_cursor`` is opaque: pass it back unchanged to get the next page; it
    is ``None`` on the last page. ``high_water_mark`` is the largest change time
    seen so far, to pass as ``since`` on the next incremental listing.
    """

    items: list[T]
    next_cursor: str | None = None
    high_water_mark: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_last(self) -> bool:
        return self.next_cursor is None


def encode_cursor(state: dict[str, Any]) -> str:
    """Pack adapter state into an opaque, URL-safe cursor string."""
    raw = json.dumps(state, sort_keys=True, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """Unpack a cursor made by :func:`encode_cursor`; a bad one is InvalidInput."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "not a cursor this provider issued; pass back `next_cursor` unchanged",
            field="cursor",
        ) from exc
    if not isinstance(state, dict):
        raise InvalidInput("not a cursor this provider issued", field="cursor")
    return state


async def iterate_pages(
    fetch: Callable[[str | None], Awaitable[Page[T]]], cursor: str | None = None
) -> AsyncIterator[T]:
    """Yield every item of every page lazily, fetching a page only when needed.

    ``fetch(cursor)`` returns one page, e.g.
    ``lambda c: adapter.list_issues(ref, cursor=c)``.
    """
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def collect(
    fetch: Callable[[str | None], Awaitable[Page[T]]], cursor: str | None = None
) -> list[T]:
    """Every item of every page, as a list (for small listings and tests)."""
    return [item async for item in iterate_pages(fetch, cursor)]
