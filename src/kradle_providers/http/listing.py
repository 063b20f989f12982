"""One page of a JSON-array listing paged by ``Link: rel="next"``, as a canonical :class:`Page`.

Many REST APIs answer a listing with a JSON array and the next page's URL in
a ``Link`` header. :func:`link_list_page` reads one such page: the cursor it
issues carries the provider's ``next`` URL (which already holds every query
parameter), each item is mapped on its own (an item that does not map is
skipped and listed in ``Page.extra``, never sinking the page), and the
high-water mark is the newest time ``updated`` reads from the items.

:func:`drop_repeated` makes any cursor-paged listing safe against objects
inserted between pages: a provider paging by offset or page number shifts its
pages when a new object lands before the cursor (newest-first listings), so
the next page repeats the previous one's last items. The cursor remembers the
ids it already handed out and the next page drops them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from kradle_providers.errors import InvalidInput, KradleError
from kradle_providers.http.client import HttpClient
from kradle_providers.http.pagination import parse_link_header
from kradle_providers.http.response import Response
from kradle_providers.models.tolerance import SKIPPED, map_each
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

__all__ = ["SEEN_KEY", "drop_repeated", "link_list_page", "next_link"]

T = TypeVar("T")

SEEN_KEY = "seen"
"""The cursor key :func:`drop_repeated` keeps the ids already listed under."""


def _native_id(item: Any) -> str | None:
    external = getattr(item, "external", None)
    native = getattr(external, "native_id", None)
    return str(native) if native else None


def drop_repeated(page: Page[T], cursor: str | None, *, keep: int = 200) -> Page[T]:
    """``page`` without the objects the pages before it listed (by ``external.native_id``).

    ``cursor`` is the one ``page`` was fetched with (None for the first page);
    the returned page's ``next_cursor`` carries the ids of the last ``keep``
    objects listed, enough for as many objects inserted between two pages.
    Both cursors must be made by :func:`encode_cursor` (a JSON object); the
    adapter ignores the :data:`SEEN_KEY` entry when it reads its own state.
    """
    seen: list[str] = []
    if cursor is not None:
        carried = decode_cursor(cursor).get(SEEN_KEY)
        seen = [str(i) for i in carried] if isinstance(carried, list) else []
    already = set(seen)
    items: list[T] = []
    for item in page.items:
        native = _native_id(item)
        if native is not None and native in already:
            continue  # shifted onto this page by an insert before the cursor
        if native is not None:
            already.add(native)
            seen.append(native)
        items.append(item)
    following = page.next_cursor
    if following is not None and seen:
        following = encode_cursor({**decode_cursor(following), SEEN_KEY: seen[-keep:]})
    return Page(
        items=items, next_cursor=following, high_water_mark=page.high_water_mark, extra=page.extra
    )


def next_link(response: Response) -> str | None:
    """The ``rel="next"`` URL of a listing response, if any."""
    header = ", ".join(response.headers.get_list("link"))
    for link in parse_link_header(header, base_url=response.url):
        if "next" in link.rels:
            return link.url
    return None


async def link_list_page(
    http: HttpClient,
    path: str,
    params: Mapping[str, Any],
    *,
    cursor: str | None,
    per_page: int,
    convert: Callable[[Any], T | None],
    updated: Callable[[T], datetime | None] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[Page[T], str | None]:
    """One page of the listing at ``path`` (or at ``cursor``), and the provider's next URL.

    ``extra`` is kept in the issued cursor beside the URL (an adapter walking
    several listings records where it is). A cursor that does not point under
    the client's base URL is refused before anything is sent.
    """
    name = http.provider.capitalize()
    if cursor is not None:
        url = decode_cursor(cursor).get("url")  # SEEN_KEY is drop_repeated's
        root = http.base_url
        if not isinstance(url, str) or not (
            url == root or url.startswith((root + "/", root + "?"))
        ):
            raise InvalidInput(
                f"not a cursor this {name} adapter issued; pass back `next_cursor` unchanged",
                field="cursor",
            )
        response = await http.get(url)
    else:
        response = await http.get(path, params={**params, "per_page": per_page})
    body = response.json()
    if not isinstance(body, list):
        raise KradleError(f"{name} returned an unexpected body for {path}: expected a list")
    skipped: list[KradleError] = []
    items = map_each(body, convert, skipped=skipped, what=f"{name} item of {path}")
    nxt = next_link(response)
    stamps = [s for s in (updated(i) for i in items) if s is not None] if updated else []
    page = Page(
        items=items,
        next_cursor=encode_cursor({**(extra or {}), "url": nxt}) if nxt else None,
        high_water_mark=max(stamps) if stamps else None,
        extra={"etag": response.etag, "from_cache": response.from_cache, SKIPPED: skipped},
    )
    return drop_repeated(page, cursor), nxt
