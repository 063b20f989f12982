"""Walking paginated listings, one page at a time, resumably.

:func:`paginate` drives a :class:`PaginationStrategy` and yields
:class:`PageResult` objects; each carries a JSON-serializable
:class:`Checkpoint` from which a later call (after a crash, in another
process) resumes at the next page. Strategies cover the common conventions:

* :class:`LinkHeaderPagination`: RFC 8288 ``Link: <…>; rel="next"``.
* :class:`PageNumberPagination`: ``page``/``per_page`` with ``X-Next-Page`` /
  ``X-Total-Pages`` headers or a short page as the end.
* :class:`OffsetPagination`: ``startAt``/``maxResults`` with ``total``/``isLast``.
* :class:`TokenPagination`: ``nextPageToken`` in the body, ``isLast``.

Each strategy is configured with the provider's largest page size and uses it
unless told otherwise. Items are taken from the body with :func:`extract_items`
(a dotted JSON path, or a callable).
"""

from __future__ import annotations

import json as jsonlib
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from kradle_providers.errors import InvalidInput, ProviderError
from kradle_providers.http.response import Response

__all__ = [
    "Checkpoint",
    "ItemsExtractor",
    "Link",
    "LinkHeaderPagination",
    "OffsetPagination",
    "PageNumberPagination",
    "PageRequest",
    "PageResult",
    "PaginationStrategy",
    "TokenPagination",
    "extract_items",
    "fetch_page",
    "get_path",
    "paginate",
    "parse_link_header",
]

ItemsExtractor = str | Callable[[Any], Sequence[Any]]


class _Requester(Protocol):
    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = ...,
        json: Any = ...,
        headers: Mapping[str, str] | None = ...,
        budget_scope: str | None = ...,
        conditional: bool = ...,
    ) -> Response: ...


# -- JSON helpers -------------------------------------------------------------

_MISSING = object()


def _walk(body: Any, path: str) -> Any:
    node = body
    for segment in (s for s in path.split(".") if s):
        if isinstance(node, Mapping):
            node = node.get(segment, _MISSING)
        elif isinstance(node, list) and segment.lstrip("-").isdigit():
            index = int(segment)
            node = node[index] if -len(node) <= index < len(node) else _MISSING
        else:
            node = _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def get_path(body: Any, path: str, default: Any = None) -> Any:
    """The value at dotted ``path`` (``data.repository.issues``; ``""`` = body), or default."""
    value = _walk(body, path)
    return default if value is _MISSING else value


def extract_items(body: Any, items: ItemsExtractor) -> list[Any]:
    """The list of items in a page body, by dotted path or callable.

    A ``null`` at the path is an empty page; a missing path or a non-list is a
    :class:`ProviderError` (silently reading zero items would lose data).
    """
    if callable(items):
        return list(items(body))
    value = _walk(body, items)
    if value is None:
        return []
    if value is _MISSING or not isinstance(value, list):
        raise ProviderError(
            f"the page body has no list at {items or '<root>'!r}; configure the strategy's "
            "`items` path (or callable) to match the provider's response shape",
        )
    return value


# -- RFC 8288 Link header -----------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One link of a ``Link`` header: target and (lower-cased) parameters."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def rels(self) -> frozenset[str]:
        """The relation types (``rel`` may list several, space-separated)."""
        return frozenset(self.params.get("rel", "").lower().split())


_TOKEN = re.compile(r"[^=;,\s]+")


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _quoted(text: str, i: int) -> tuple[str, int]:
    """Parse a quoted-string starting at the opening quote; return value and next index."""
    out: list[str] = []
    i += 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def parse_link_header(value: str, base_url: str | None = None) -> list[Link]:
    """Parse an RFC 8288 ``Link`` header robustly.

    Handles several links, commas and semicolons inside ``<…>`` and inside
    quoted parameter values, escaped quotes, unquoted values, and relative
    targets (resolved against ``base_url``). Malformed parts are skipped.
    """
    links: list[Link] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " \t,":
            i += 1
        if i >= n:
            break
        if value[i] != "<":
            # Not a link: skip to the next comma outside quotes.
            while i < n and value[i] != ",":
                i = _quoted(value, i)[1] if value[i] == '"' else i + 1
            continue
        end = value.find(">", i)
        if end == -1:
            break
        target = value[i + 1 : end].strip()
        i = end + 1
        params: dict[str, str] = {}
        while True:
            i = _skip_ws(value, i)
            if i >= n or value[i] != ";":
                break
            i = _skip_ws(value, i + 1)
            match = _TOKEN.match(value, i)
            if match is None:
                continue
            name = match.group(0).lower()
            i = _skip_ws(value, match.end())
            param_value = ""
            if i < n and value[i] == "=":
                i = _skip_ws(value, i + 1)
                if i < n and value[i] == '"':
                    param_value, i = _quoted(value, i)
                else:
                    token = _TOKEN.match(value, i)
                    if token is not None:
                        param_value, i = token.group(0), token.end()
            # RFC 8288: only the first occurrence of a parameter counts.
            params.setdefault(name, param_value)
        # Skip anything unparseable up to the next link.
        while i < n and value[i] != ",":
            i = _quoted(value, i)[1] if value[i] == '"' else i + 1
        links.append(Link(urljoin(base_url, target) if base_url else target, params))
    return links


# -- requests, checkpoints, results -------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    """The listing request to paginate (the first page, before paging parameters)."""

    path_or_url: str
    method: str = "GET"
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    budget_scope: str | None = None
    conditional: bool = True
    """False bypasses the ETag cache (a read-back that must see the latest state)."""


@dataclass(frozen=True)
class Checkpoint:
    """Where to resume a listing: the strategy's name and its JSON-safe state."""

    strategy: str
    state: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict."""
        return {"strategy": self.strategy, "state": dict(self.state)}

    def to_json(self) -> str:
        """A JSON string (store it; pass it back through :meth:`from_json`)."""
        return jsonlib.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Rebuild a checkpoint from :meth:`to_dict` output."""
        strategy, state = data.get("strategy"), data.get("state")
        if not isinstance(strategy, str) or not isinstance(state, Mapping):
            raise InvalidInput(
                "not a pagination checkpoint; pass back a value from Checkpoint.to_dict()",
                field="checkpoint",
            )
        return cls(strategy=strategy, state=dict(state))

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Rebuild a checkpoint from :meth:`to_json` output."""
        try:
            data = jsonlib.loads(text)
        except ValueError as exc:
            raise InvalidInput("checkpoint is not valid JSON", field="checkpoint") from exc
        if not isinstance(data, Mapping):
            raise InvalidInput("not a pagination checkpoint", field="checkpoint")
        return cls.from_dict(data)


@dataclass(frozen=True)
class PageResult:
    """One fetched page.

    ``checkpoint`` resumes at the page *after* this one; it is None when this
    page was the last. ``index`` counts pages fetched in this run (from 0).
    """

    items: list[Any]
    response: Response
    checkpoint: Checkpoint | None
    index: int

    @property
    def is_last(self) -> bool:
        """True when no page follows."""
        return self.checkpoint is None


# -- strategies ---------------------------------------------------------------


class PaginationStrategy(ABC):
    """How one pagination convention moves from page to page.

    ``max_page_size`` is the provider's largest page; ``page_size`` defaults to
    it. State is a small JSON-safe dict (it becomes the checkpoint).
    """

    name: str = "abstract"

    def __init__(self, *, max_page_size: int, page_size: int | None, items: ItemsExtractor) -> None:
        if max_page_size < 1:
            raise ValueError("max_page_size must be >= 1")
        size = page_size if page_size is not None else max_page_size
        if not 1 <= size <= max_page_size:
            raise ValueError(f"page_size must be between 1 and max_page_size ({max_page_size})")
        self.max_page_size = max_page_size
        self.page_size = size
        self.items = items

    @abstractmethod
    def initial_state(self) -> dict[str, Any]:
        """State for the first page."""

    @abstractmethod
    def page_request(self, base: PageRequest, state: Mapping[str, Any]) -> PageRequest:
        """The request for the page described by ``state``."""

    @abstractmethod
    def next_state(
        self, state: Mapping[str, Any], response: Response, body: Any, items: list[Any]
    ) -> dict[str, Any] | None:
        """State for the following page, or None when this page was the last."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(page_size={self.page_size})"


def _with_params(base: PageRequest, extra: Mapping[str, Any]) -> PageRequest:
    return replace(base, params={**base.params, **extra})


class LinkHeaderPagination(PaginationStrategy):
    """RFC 8288 ``Link`` headers: follow ``rel="next"`` until there is none.

    Used by GitHub REST and GitLab (keyset and offset), among others. The state
    is the ``next`` URL, which carries every parameter; with ``base_url`` set
    (the API root) a URL elsewhere, such as a tampered cursor, is refused before
    any request, so credentials are never sent to another host.
    """

    name = "link"

    def __init__(
        self,
        *,
        max_page_size: int = 100,
        page_size: int | None = None,
        size_param: str | None = "per_page",
        items: ItemsExtractor = "",
        base_url: str | None = None,
    ) -> None:
        super().__init__(max_page_size=max_page_size, page_size=page_size, items=items)
        self.size_param = size_param
        self.base_url = base_url

    def initial_state(self) -> dict[str, Any]:
        """First page: the base request."""
        return {}

    def page_request(self, base: PageRequest, state: Mapping[str, Any]) -> PageRequest:
        """The base request, or the ``next`` URL (which carries every parameter)."""
        url = state.get("url")
        if url is None:
            return _with_params(base, {self.size_param: self.page_size} if self.size_param else {})
        if not isinstance(url, str) or (
            self.base_url is not None and not _under(url, self.base_url)
        ):
            raise InvalidInput(
                "not a position this listing issued (its next URL is not under the API root); "
                "pass back the listing's own cursor unchanged",
                field="cursor",
            )
        return replace(base, path_or_url=url, params={})

    def next_state(
        self, state: Mapping[str, Any], response: Response, body: Any, items: list[Any]
    ) -> dict[str, Any] | None:
        """The ``rel="next"`` target, if any."""
        header = ", ".join(response.headers.get_list("link"))
        for link in parse_link_header(header, base_url=response.url):
            if "next" in link.rels:
                return {"url": link.url}
        return None


def _under(url: str, root: str) -> bool:
    """Whether ``url`` has ``root``'s scheme, host and port and lies under its path."""
    target, base = urlsplit(url), urlsplit(root)
    if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
        return False
    prefix = base.path.rstrip("/")
    return target.path == prefix or target.path.startswith(prefix + "/")


class PageNumberPagination(PaginationStrategy):
    """``page``/``per_page`` numbering.

    Ends on an empty ``next_page_header`` (GitLab ``X-Next-Page``), on reaching
    ``total_pages_header`` (``X-Total-Pages``), or, without those headers, on
    an empty or short page; configure ``max_page_size`` to the provider's real
    cap so a capped page is never mistaken for the last one.
    """

    name = "page"

    def __init__(
        self,
        *,
        max_page_size: int = 100,
        page_size: int | None = None,
        page_param: str = "page",
        size_param: str = "per_page",
        first_page: int = 1,
        next_page_header: str | None = "x-next-page",
        total_pages_header: str | None = "x-total-pages",
        items: ItemsExtractor = "",
    ) -> None:
        super().__init__(max_page_size=max_page_size, page_size=page_size, items=items)
        self.page_param = page_param
        self.size_param = size_param
        self.first_page = first_page
        self.next_page_header = next_page_header
        self.total_pages_header = total_pages_header

    def initial_state(self) -> dict[str, Any]:
        """First page number."""
        return {"page": self.first_page}

    def page_request(self, base: PageRequest, state: Mapping[str, Any]) -> PageRequest:
        """The base request with page number and size."""
        page = state.get("page")
        if not isinstance(page, int) or isinstance(page, bool) or page < self.first_page:
            raise InvalidInput(
                f"not a page position this listing issued (page {page!r}); pass back the "
                "listing's own cursor unchanged",
                field="cursor",
            )
        return _with_params(base, {self.page_param: page, self.size_param: self.page_size})

    def next_state(
        self, state: Mapping[str, Any], response: Response, body: Any, items: list[Any]
    ) -> dict[str, Any] | None:
        """The next page number, or None at the end."""
        page = int(state["page"])
        if self.next_page_header and self.next_page_header in response.headers:
            value = response.headers[self.next_page_header].strip()
            return {"page": int(value)} if value.isdigit() and items else None
        if self.total_pages_header and self.total_pages_header in response.headers:
            total = response.headers[self.total_pages_header].strip()
            if total.isdigit():
                return {"page": page + 1} if page + 1 - self.first_page < int(total) else None
        if len(items) < self.page_size:
            return None
        return {"page": page + 1}


class OffsetPagination(PaginationStrategy):
    """``startAt``/``maxResults`` offsets with ``total`` and ``isLast`` in the body.

    The next offset advances by the number of items actually returned, so a
    provider that caps ``maxResults`` below the requested size loses nothing.
    """

    name = "offset"

    def __init__(
        self,
        *,
        items: ItemsExtractor,
        max_page_size: int = 50,
        page_size: int | None = None,
        start_param: str = "startAt",
        size_param: str = "maxResults",
        total_field: str | None = "total",
        is_last_field: str | None = "isLast",
    ) -> None:
        super().__init__(max_page_size=max_page_size, page_size=page_size, items=items)
        self.start_param = start_param
        self.size_param = size_param
        self.total_field = total_field
        self.is_last_field = is_last_field

    def initial_state(self) -> dict[str, Any]:
        """Offset 0."""
        return {"start": 0}

    def page_request(self, base: PageRequest, state: Mapping[str, Any]) -> PageRequest:
        """The base request with offset and size."""
        return _with_params(
            base, {self.start_param: int(state["start"]), self.size_param: self.page_size}
        )

    def next_state(
        self, state: Mapping[str, Any], response: Response, body: Any, items: list[Any]
    ) -> dict[str, Any] | None:
        """The next offset, or None at the end."""
        if self.is_last_field and get_path(body, self.is_last_field) is True:
            return None
        if not items:
            return None
        start = int(state["start"]) + len(items)
        total = get_path(body, self.total_field) if self.total_field else None
        if isinstance(total, int) and not isinstance(total, bool) and start >= total:
            return None
        return {"start": start}


class TokenPagination(PaginationStrategy):
    """An opaque next-page token in the body (``nextPageToken``), with ``isLast``."""

    name = "token"

    def __init__(
        self,
        *,
        items: ItemsExtractor,
        max_page_size: int = 100,
        page_size: int | None = None,
        token_param: str = "nextPageToken",  # noqa: S107 - a parameter name, not a secret
        token_field: str = "nextPageToken",  # noqa: S107 - a field name, not a secret
        size_param: str | None = "maxResults",
        is_last_field: str | None = "isLast",
    ) -> None:
        super().__init__(max_page_size=max_page_size, page_size=page_size, items=items)
        self.token_param = token_param
        self.token_field = token_field
        self.size_param = size_param
        self.is_last_field = is_last_field

    def initial_state(self) -> dict[str, Any]:
        """No token yet."""
        return {"token": None}

    def page_request(self, base: PageRequest, state: Mapping[str, Any]) -> PageRequest:
        """The base request with page size and the token, if any."""
        extra: dict[str, Any] = {}
        if self.size_param:
            extra[self.size_param] = self.page_size
        if state.get("token"):
            extra[self.token_param] = state["token"]
        return _with_params(base, extra)

    def next_state(
        self, state: Mapping[str, Any], response: Response, body: Any, items: list[Any]
    ) -> dict[str, Any] | None:
        """The next token, or None at the end."""
        if self.is_last_field and get_path(body, self.is_last_field) is True:
            return None
        token = get_path(body, self.token_field)
        if not isinstance(token, str) or not token:
            return None
        return {"token": token}


# -- the driver ---------------------------------------------------------------


async def paginate(
    client: _Requester,
    strategy: PaginationStrategy,
    request: PageRequest,
    *,
    checkpoint: Checkpoint | None = None,
    max_pages: int | None = None,
) -> AsyncIterator[PageResult]:
    """Yield the listing's pages lazily, from the start or from ``checkpoint``.

    ``client`` is an :class:`~kradle_providers.http.HttpClient` (anything with
    its ``request`` method). Stops after ``max_pages`` pages when given (the
    last result's checkpoint then resumes). A provider that hands back the
    same position twice raises :class:`ProviderError` instead of looping.
    """
    if checkpoint is not None:
        if checkpoint.strategy != strategy.name:
            raise InvalidInput(
                f"checkpoint was made by the {checkpoint.strategy!r} strategy, not "
                f"{strategy.name!r}; resume with the strategy that produced it",
                field="checkpoint",
            )
        state: dict[str, Any] = dict(checkpoint.state)
    else:
        state = strategy.initial_state()
    seen: set[str] = set()
    index = 0
    while max_pages is None or index < max_pages:
        page_request = strategy.page_request(request, state)
        response = await client.request(
            page_request.method,
            page_request.path_or_url,
            params=page_request.params,
            json=page_request.json,
            headers=page_request.headers,
            budget_scope=page_request.budget_scope,
            conditional=page_request.conditional,
        )
        body = response.json()
        items = extract_items(body, strategy.items)
        following = strategy.next_state(state, response, body, items)
        if following is not None:
            marker = jsonlib.dumps(following, sort_keys=True, default=str)
            if marker in seen or following == state:
                raise ProviderError(
                    f"pagination did not advance ({strategy.name} state repeated); the "
                    "provider returned the same next position twice. Report it, or page "
                    "with a different strategy.",
                )
            seen.add(marker)
        yield PageResult(
            items=items,
            response=response,
            checkpoint=Checkpoint(strategy.name, following) if following is not None else None,
            index=index,
        )
        if following is None:
            return
        state = following
        index += 1


async def fetch_page(
    client: _Requester,
    strategy: PaginationStrategy,
    request: PageRequest,
    *,
    checkpoint: Checkpoint | None = None,
) -> PageResult:
    """One page: the first, or the one ``checkpoint`` points at (an adapter's cursor).

    An adapter listing one canonical page per call keeps ``result.checkpoint``
    in its cursor and passes it back here for the next page.
    """
    async for result in paginate(client, strategy, request, checkpoint=checkpoint, max_pages=1):
        return result
    raise AssertionError("paginate yields at least one page")  # pragma: no cover
