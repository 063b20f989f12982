"""Real pagination, as providers emit it.

Each helper takes the *full, already sorted* list plus the request's
parameters and returns a :class:`PageSlice`: the items of the page, the
response headers and the body fields to add. The conventions:

- :class:`LinkPagination`: ``page``/``per_page`` query parameters and an RFC 8288
  ``Link`` header with ``first``/``prev``/``next``/``last`` (GitHub, Buildkite).
- :class:`OffsetHeaderPagination`: the same plus ``X-Total``, ``X-Total-Pages``,
  ``X-Page``, ``X-Per-Page``, ``X-Next-Page``, ``X-Prev-Page`` (GitLab).
- :class:`StartAtPagination`: ``startAt``/``maxResults`` parameters and
  ``startAt``/``maxResults``/``total``/``isLast`` body fields (Jira).
- :class:`TokenPagination`: ``nextPageToken`` parameter and body field with
  ``isLast`` (Jira's enhanced search and other token-based listings).

A bad parameter raises :class:`PaginationError`; the emulator answers it with
the provider's 400 body.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kradle_providers.errors import InvalidInput
from kradle_providers.protocols.page import decode_cursor, encode_cursor

__all__ = [
    "LinkPagination",
    "OffsetHeaderPagination",
    "PageSlice",
    "PaginationError",
    "PaginationStyle",
    "StartAtPagination",
    "TokenPagination",
    "format_link_header",
]

T = TypeVar("T")


class PaginationError(ValueError):
    """A pagination parameter is invalid (the emulator answers 400)."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


@dataclass(frozen=True)
class PageSlice(Generic[T]):
    """One page: its items, the headers to send and the body fields to add."""

    items: list[T]
    headers: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


class PaginationStyle(Protocol):
    """A pagination convention: slice a sorted list for a request."""

    def paginate(self, items: Sequence[T], url: str, query: Mapping[str, str]) -> PageSlice[T]:
        """Return the page ``query`` asks for; ``url`` is the request's full URL."""
        ...


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        # GitHub and GitLab ignore a non-numeric page size rather than failing.
        return default


def _with_params(url: str, updates: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in updates]
    pairs.extend(updates.items())
    return urlunsplit(parts._replace(query=urlencode(pairs)))


def format_link_header(links: Mapping[str, str]) -> str:
    """``<url>; rel="next", <url>; rel="last"`` (RFC 8288), in the given order."""
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())


@dataclass(frozen=True)
class LinkPagination:
    """``page``/``per_page`` with a ``Link`` header.

    ``per_page`` above ``max_per_page`` is capped, missing or below 1 means
    ``default_per_page``; ``page`` below 1 means 1. Links keep every other
    query parameter of the request. Following GitHub, ``first``/``prev`` are
    omitted on the first page and ``next``/``last`` on the last one; with
    ``always_first_last`` they are always present (Buildkite-style).
    """

    default_per_page: int = 30
    max_per_page: int = 100
    page_param: str = "page"
    per_page_param: str = "per_page"
    always_first_last: bool = False

    def bounds(self, query: Mapping[str, str]) -> tuple[int, int]:
        """The (page, per_page) the request asks for, after defaults and caps."""
        per_page = _int_param(query, self.per_page_param, self.default_per_page)
        if per_page < 1:
            per_page = self.default_per_page
        per_page = min(per_page, self.max_per_page)
        page = max(1, _int_param(query, self.page_param, 1))
        return page, per_page

    def links(self, url: str, page: int, last_page: int) -> dict[str, str]:
        """The rel -> URL map for ``page`` of ``last_page``."""

        def to(n: int) -> str:
            return _with_params(url, {self.page_param: str(n)})

        links: dict[str, str] = {}
        if page < last_page:
            links["next"] = to(page + 1)
            links["last"] = to(last_page)
        elif self.always_first_last:
            links["last"] = to(last_page)
        if page > 1:
            links["first"] = to(1)
            links["prev"] = to(min(page - 1, last_page))
        elif self.always_first_last:
            links["first"] = to(1)
        return links

    def paginate(self, items: Sequence[T], url: str, query: Mapping[str, str]) -> PageSlice[T]:
        """Slice ``items`` and build the ``Link`` header."""
        page, per_page = self.bounds(query)
        last_page = max(1, math.ceil(len(items) / per_page))
        start = (page - 1) * per_page
        chunk = list(items[start : start + per_page])
        links = self.links(url, page, last_page)
        headers = {"link": format_link_header(links)} if links else {}
        return PageSlice(items=chunk, headers=headers)


@dataclass(frozen=True)
class OffsetHeaderPagination(LinkPagination):
    """:class:`LinkPagination` plus ``X-Total``-style headers (GitLab).

    Above ``count_limit`` items the totals are omitted, as GitLab does for
    large collections (clients must then follow ``X-Next-Page``).
    """

    default_per_page: int = 20
    count_limit: int | None = 10_000

    def paginate(self, items: Sequence[T], url: str, query: Mapping[str, str]) -> PageSlice[T]:
        """Slice ``items``; add ``Link`` and the ``X-*`` page headers."""
        base = LinkPagination.paginate(self, items, url, query)
        page, per_page = self.bounds(query)
        total = len(items)
        last_page = max(1, math.ceil(total / per_page))
        headers = dict(base.headers)
        headers["x-page"] = str(page)
        headers["x-per-page"] = str(per_page)
        headers["x-next-page"] = str(page + 1) if page < last_page else ""
        headers["x-prev-page"] = str(page - 1) if page > 1 else ""
        if self.count_limit is None or total <= self.count_limit:
            headers["x-total"] = str(total)
            headers["x-total-pages"] = str(last_page)
        return PageSlice(items=base.items, headers=headers)


@dataclass(frozen=True)
class StartAtPagination:
    """``startAt``/``maxResults`` with ``startAt``/``maxResults``/``total``/``isLast`` fields.

    ``maxResults`` is capped at ``max_results`` (Jira reports the capped value
    back); a negative ``startAt`` is a 400.
    """

    default_max_results: int = 50
    max_results: int = 100
    start_param: str = "startAt"
    size_param: str = "maxResults"
    include_is_last: bool = True

    def paginate(self, items: Sequence[T], url: str, query: Mapping[str, str]) -> PageSlice[T]:
        """Slice ``items`` from ``startAt``; return the body fields."""
        start = _int_param(query, self.start_param, 0)
        if start < 0:
            raise PaginationError(self.start_param, "must be zero or positive")
        size = _int_param(query, self.size_param, self.default_max_results)
        if size < 0:
            size = self.default_max_results
        size = min(size, self.max_results)
        chunk = list(items[start : start + size])
        fields: dict[str, Any] = {
            "startAt": start,
            "maxResults": size,
            "total": len(items),
        }
        if self.include_is_last:
            fields["isLast"] = start + len(chunk) >= len(items)
        return PageSlice(items=chunk, fields=fields)


def _encode_token(offset: int) -> str:
    return encode_cursor({"o": offset})


def _decode_token(token: str, param: str) -> int:
    try:
        offset = decode_cursor(token).get("o")
    except InvalidInput:
        raise PaginationError(param, "is not a token this API issued") from None
    if not isinstance(offset, int) or offset < 0:
        raise PaginationError(param, "is not a token this API issued")
    return offset


@dataclass(frozen=True)
class TokenPagination:
    """Opaque ``nextPageToken`` paging with ``nextPageToken``/``isLast`` body fields.

    The token is absent on the last page; a token the emulator did not issue
    is a 400.
    """

    default_max_results: int = 50
    max_results: int = 5000
    token_param: str = "nextPageToken"
    size_param: str = "maxResults"
    include_is_last: bool = True

    def paginate(self, items: Sequence[T], url: str, query: Mapping[str, str]) -> PageSlice[T]:
        """Slice ``items`` from the token's offset; return the body fields."""
        token = query.get(self.token_param)
        start = _decode_token(token, self.token_param) if token else 0
        size = _int_param(query, self.size_param, self.default_max_results)
        if size < 1:
            size = self.default_max_results
        size = min(size, self.max_results)
        chunk = list(items[start : start + size])
        end = start + len(chunk)
        fields: dict[str, Any] = {}
        if end < len(items):
            fields["nextPageToken"] = _encode_token(end)
        if self.include_is_last:
            fields["isLast"] = end >= len(items)
        return PageSlice(items=chunk, fields=fields)
