"""Pagination: every item exactly once, for every strategy, page size and split; resumable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput, ProviderError
from kradle_providers.http import (
    BudgetRegistry,
    Checkpoint,
    HttpClient,
    LinkHeaderPagination,
    ManualClock,
    OffsetPagination,
    PageNumberPagination,
    PageRequest,
    PaginationStrategy,
    TokenPagination,
    extract_items,
    fetch_page,
    paginate,
    parse_link_header,
)

BASE = "https://api.example.test/api/v4"
Handler = Callable[[httpx.Request], httpx.Response]


def chunks(data: list[Any], sizes: list[int]) -> list[list[Any]]:
    """Split ``data`` into pages of the given sizes (cycled); at least one page."""
    pages: list[list[Any]] = []
    i = 0
    k = 0
    while i < len(data):
        size = sizes[k % len(sizes)]
        pages.append(data[i : i + size])
        i += size
        k += 1
    return pages or [[]]


def q(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


# -- emulated servers, one per convention ----------------------------------------------


def link_server(data: list[Any], sizes: list[int]) -> Handler:
    pages = chunks(data, sizes)

    def handler(request: httpx.Request) -> httpx.Response:
        params = q(request)
        assert params["per_page"]  # the strategy always sends its page size
        index = int(params.get("cursor", "0"))
        links = [f'<{BASE}/items?cursor=0&per_page={params["per_page"]}&f=a,b>; rel="first"']
        if index + 1 < len(pages):
            # Relative target, extra quoted params with separators, several rels.
            links.append(
                f"</api/v4/items?cursor={index + 1}&per_page={params['per_page']}>; "
                f'title="next; page, please"; rel="next nofollow"'
            )
        if index > 0:
            links.append(f"<{BASE}/items?cursor={index - 1}>; rel=prev")
        return httpx.Response(200, json=pages[index], headers={"Link": ", ".join(links)})

    return handler


def page_server(data: list[Any], mode: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        params = q(request)
        page, size = int(params["page"]), int(params["per_page"])
        items = data[(page - 1) * size : page * size]
        total_pages = max(1, -(-len(data) // size))
        headers = {}
        if mode == "next-page":
            headers["X-Next-Page"] = str(page + 1) if page < total_pages else ""
        elif mode == "total-pages":
            headers["X-Total-Pages"] = str(total_pages)
        return httpx.Response(200, json=items, headers=headers)

    return handler


def offset_server(data: list[Any], sizes: list[int], cap: int, with_is_last: bool) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        params = q(request)
        start, wanted = int(params["startAt"]), int(params["maxResults"])
        # The server decides how many to return (<= asked): any split of the data.
        count = min(wanted, cap, sizes[start % len(sizes)])
        items = data[start : start + count]
        body: dict[str, Any] = {
            "startAt": start,
            "maxResults": wanted,
            "total": len(data),
            "values": items,
        }
        if with_is_last:
            body["isLast"] = start + len(items) >= len(data)
        return httpx.Response(200, json=body)

    return handler


def token_server(data: list[Any], sizes: list[int], omit_last_token: bool) -> Handler:
    pages = chunks(data, sizes)

    def handler(request: httpx.Request) -> httpx.Response:
        params = q(request)
        assert params["maxResults"]
        index = int(params.get("nextPageToken", "tok-0").removeprefix("tok-"))
        last = index + 1 >= len(pages)
        body: dict[str, Any] = {"issues": pages[index], "isLast": last}
        if not last:
            body["nextPageToken"] = f"tok-{index + 1}"
        elif not omit_last_token:
            body["nextPageToken"] = None
        return httpx.Response(200, json=body)

    return handler


# -- driving ---------------------------------------------------------------------------


def client_for(handler: Handler) -> HttpClient:
    return HttpClient(
        BASE,
        provider="test",
        transport=httpx.MockTransport(handler),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
        cache=False,
    )


async def collect(
    handler: Handler,
    strategy: PaginationStrategy,
    request: PageRequest,
    *,
    stop_after: int | None = None,
) -> list[Any]:
    """All items; when ``stop_after`` is set, stop there and resume from a stored checkpoint."""
    client = client_for(handler)
    items: list[Any] = []
    stored: str | None = None
    finished = False
    async for page in paginate(client, strategy, request, max_pages=stop_after):
        items.extend(page.items)
        stored = page.checkpoint.to_json() if page.checkpoint else None
        finished = page.is_last
    if not finished:
        assert stored is not None
        # A fresh client and a checkpoint that went through JSON, as after a restart.
        resumed = client_for(handler)
        checkpoint = Checkpoint.from_json(stored)
        async for page in paginate(resumed, strategy, request, checkpoint=checkpoint):
            items.extend(page.items)
    return items


data_st = st.lists(st.integers(), max_size=40).map(
    lambda xs: [{"id": i, "v": x} for i, x in enumerate(xs)]
)
sizes_st = st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=5)
stop_st = st.one_of(st.none(), st.integers(min_value=1, max_value=6))


@given(data_st, sizes_st, st.integers(min_value=1, max_value=10), stop_st)
def test_link_header_yields_every_item_once(
    data: list[Any], sizes: list[int], page_size: int, stop: int | None
) -> None:
    strategy = LinkHeaderPagination(max_page_size=10, page_size=page_size, base_url=BASE)
    got = asyncio.run(
        collect(link_server(data, sizes), strategy, PageRequest("/items"), stop_after=stop)
    )
    assert got == data


async def walk_one_page_at_a_time(handler: Handler, strategy: PaginationStrategy) -> list[Any]:
    """What an adapter does: one page per call, the checkpoint kept as a JSON cursor between."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        resume = Checkpoint.from_json(cursor) if cursor is not None else None
        page = await fetch_page(
            client_for(handler), strategy, PageRequest("/items"), checkpoint=resume
        )
        items.extend(page.items)
        if page.checkpoint is None:
            return items
        cursor = page.checkpoint.to_json()


@given(data_st, sizes_st, st.integers(min_value=1, max_value=10))
def test_fetch_page_walks_link_pages_from_cursors(
    data: list[Any], sizes: list[int], page_size: int
) -> None:
    strategy = LinkHeaderPagination(max_page_size=10, page_size=page_size, base_url=BASE)
    assert asyncio.run(walk_one_page_at_a_time(link_server(data, sizes), strategy)) == data


@given(
    data_st, st.integers(min_value=1, max_value=10), st.sampled_from(["next-page", "short-page"])
)
def test_fetch_page_walks_numbered_pages_from_cursors(
    data: list[Any], page_size: int, mode: str
) -> None:
    strategy = PageNumberPagination(max_page_size=10, page_size=page_size)
    assert asyncio.run(walk_one_page_at_a_time(page_server(data, mode), strategy)) == data


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.test/api/v4/items?cursor=1",
        "https://api.example.test.evil.test/api/v4/items",
        "http://api.example.test/api/v4/items",
        "https://api.example.test/api/v4evil/items",
        "https://api.example.test/other",
        42,
    ],
)
async def test_a_link_position_outside_the_api_root_is_refused_before_any_request(
    url: object,
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[])

    strategy = LinkHeaderPagination(base_url=BASE)
    with pytest.raises(InvalidInput, match="not a position this listing issued"):
        await fetch_page(
            client_for(handler),
            strategy,
            PageRequest("/items"),
            checkpoint=Checkpoint("link", {"url": url}),
        )
    assert sent == []


@pytest.mark.parametrize("state", [{"page": "2"}, {"page": 0}, {"page": True}, {"page": None}])
async def test_a_page_position_this_listing_could_not_issue_is_refused(
    state: dict[str, Any],
) -> None:
    client = client_for(lambda r: httpx.Response(200, json=[]))
    with pytest.raises(InvalidInput, match="not a page position"):
        await fetch_page(
            client,
            PageNumberPagination(),
            PageRequest("/items"),
            checkpoint=Checkpoint("page", state),
        )


@given(
    data_st,
    st.integers(min_value=1, max_value=10),
    st.sampled_from(["next-page", "total-pages", "short-page"]),
    stop_st,
)
def test_page_number_yields_every_item_once(
    data: list[Any], page_size: int, mode: str, stop: int | None
) -> None:
    strategy = PageNumberPagination(max_page_size=10, page_size=page_size)
    got = asyncio.run(
        collect(page_server(data, mode), strategy, PageRequest("/items"), stop_after=stop)
    )
    assert got == data


@given(data_st, sizes_st, st.integers(min_value=1, max_value=10), st.booleans(), stop_st)
def test_offset_yields_every_item_once(
    data: list[Any], sizes: list[int], page_size: int, with_is_last: bool, stop: int | None
) -> None:
    strategy = OffsetPagination(items="values", max_page_size=10, page_size=page_size)
    handler = offset_server(data, sizes, cap=10, with_is_last=with_is_last)
    got = asyncio.run(collect(handler, strategy, PageRequest("/search"), stop_after=stop))
    assert got == data


@given(data_st, sizes_st, st.booleans(), stop_st)
def test_token_yields_every_item_once(
    data: list[Any], sizes: list[int], omit_last_token: bool, stop: int | None
) -> None:
    strategy = TokenPagination(items="issues", max_page_size=10)
    handler = token_server(data, sizes, omit_last_token)
    got = asyncio.run(collect(handler, strategy, PageRequest("/search/jql"), stop_after=stop))
    assert got == data


# -- defaults, errors --------------------------------------------------------------------


async def test_strategies_default_to_the_largest_page_size() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(q(request))
        return httpx.Response(200, json=[])

    client = client_for(handler)
    async for _ in paginate(client, PageNumberPagination(max_page_size=100), PageRequest("/x")):
        pass
    assert seen == [{"page": "1", "per_page": "100"}]
    with pytest.raises(ValueError, match="page_size"):
        PageNumberPagination(max_page_size=100, page_size=101)


async def test_checkpoint_from_another_strategy_is_refused() -> None:
    client = client_for(lambda r: httpx.Response(200, json=[]))
    with pytest.raises(InvalidInput, match="strategy"):
        async for _ in paginate(
            client,
            LinkHeaderPagination(),
            PageRequest("/x"),
            checkpoint=Checkpoint("page", {"page": 3}),
        ):
            pass


async def test_a_provider_that_does_not_advance_is_detected() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"issues": [1], "nextPageToken": "same"})

    strategy = TokenPagination(items="issues")
    with pytest.raises(ProviderError, match="did not advance"):
        async for _ in paginate(client_for(handler), strategy, PageRequest("/x")):
            pass


def test_checkpoint_rejects_garbage() -> None:
    with pytest.raises(InvalidInput):
        Checkpoint.from_json("not json")
    with pytest.raises(InvalidInput):
        Checkpoint.from_json('{"strategy": 1}')


def test_extract_items() -> None:
    assert extract_items([1, 2], "") == [1, 2]
    assert extract_items({"a": {"b": [3]}}, "a.b") == [3]
    assert extract_items({"a": {"b": None}}, "a.b") == []
    assert extract_items({"a": [{"b": [4]}]}, "a.0.b") == [4]
    assert extract_items({"x": [{"node": 5}]}, lambda body: [e["node"] for e in body["x"]]) == [5]
    with pytest.raises(ProviderError, match="items"):
        extract_items({"a": 1}, "a")
    with pytest.raises(ProviderError):
        extract_items({"a": []}, "missing")


# -- Link header parsing -----------------------------------------------------------------

url_st = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="<>\r\n"),
    min_size=1,
    max_size=30,
).map(lambda s: "https://h.test/" + s.strip())
value_st = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=15)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(
    st.lists(
        st.tuples(
            url_st, st.sampled_from(["next", "prev", "last", "first", "next last"]), value_st
        ),
        min_size=1,
        max_size=4,
    )
)
def test_link_header_parser_round_trips(links: list[tuple[str, str, str]]) -> None:
    header = ", ".join(f"<{u}>; rel={quote(rel)}; title={quote(title)}" for u, rel, title in links)
    parsed = parse_link_header(header)
    assert [(link.url, link.params["rel"], link.params["title"]) for link in parsed] == links


@given(st.text(max_size=80))
def test_link_header_parser_never_crashes(text: str) -> None:
    parse_link_header(text)


def test_link_header_parser_edge_cases() -> None:
    header = (
        '<https://a.test/?page=2>; rel=next, <https://a.test/?page=9>; REL="last" ; rel="ignored"'
    )
    parsed = parse_link_header(header)
    assert [(p.url, p.rels) for p in parsed] == [
        ("https://a.test/?page=2", frozenset({"next"})),
        ("https://a.test/?page=9", frozenset({"last"})),
    ]
    assert parse_link_header("</x?y=1>; rel=next", base_url="https://b.test/api/") == [
        parse_link_header("<https://b.test/x?y=1>; rel=next")[0]
    ]
    assert parse_link_header("garbage, <https://c.test>; rel=next")[0].url == "https://c.test"
