"""Pagination helpers: Link headers, X-Total headers, startAt bodies, page tokens."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_emulator_toy import WidgetEmulator, toy_client

from kradle_providers.testing.emulator import (
    LinkPagination,
    OffsetHeaderPagination,
    PaginationError,
    StartAtPagination,
    TokenPagination,
)

BASE = "https://api.example/widgets?state=open"
LINK_RE = re.compile(r'<([^>]+)>; rel="(\w+)"')


def parse_links(header: str | None) -> dict[str, str]:
    return {rel: url for url, rel in LINK_RE.findall(header or "")}


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


@given(
    n=st.integers(0, 350),
    per_page=st.one_of(st.none(), st.integers(-5, 250)),
)
def test_link_walk_visits_every_item_once(n: int, per_page: int | None) -> None:
    style = LinkPagination(default_per_page=30, max_per_page=100)
    items = list(range(n))
    query: dict[str, str] = {"state": "open"}
    if per_page is not None:
        query["per_page"] = str(per_page)
    effective = 30 if per_page is None or per_page < 1 else min(per_page, 100)
    seen: list[int] = []
    pages = 0
    while True:
        page = style.paginate(items, "https://api.example/widgets?" + urlencode(query), query)
        pages += 1
        assert len(page.items) <= effective
        seen.extend(page.items)
        links = parse_links(page.headers.get("link"))
        if "next" not in links:
            assert "last" not in links
            break
        assert query_of(links["next"])["state"] == "open"
        assert int(query_of(links["last"])["page"]) == max(1, -(-n // effective))
        query = query_of(links["next"])
        assert pages <= 400
    assert seen == items
    assert pages == max(1, -(-n // effective))


def test_link_rels_on_first_middle_and_last_pages() -> None:
    style = LinkPagination()
    items = list(range(95))
    first = parse_links(style.paginate(items, BASE, {}).headers["link"])
    assert set(first) == {"next", "last"}
    assert query_of(first["last"])["page"] == "4"
    middle = parse_links(style.paginate(items, BASE, {"page": "2"}).headers["link"])
    assert set(middle) == {"next", "last", "first", "prev"}
    assert query_of(middle["prev"])["page"] == "1"
    last = parse_links(style.paginate(items, BASE, {"page": "4"}).headers["link"])
    assert set(last) == {"first", "prev"}
    single = style.paginate(list(range(3)), BASE, {})
    assert single.headers == {}
    always = LinkPagination(always_first_last=True).paginate(list(range(3)), BASE, {})
    assert set(parse_links(always.headers["link"])) == {"first", "last"}


def test_per_page_is_capped_and_bad_values_fall_back() -> None:
    style = LinkPagination(default_per_page=30, max_per_page=100)
    items = list(range(500))
    assert len(style.paginate(items, BASE, {"per_page": "1000"}).items) == 100
    assert len(style.paginate(items, BASE, {"per_page": "abc"}).items) == 30
    assert len(style.paginate(items, BASE, {"per_page": "0"}).items) == 30
    assert style.paginate(items, BASE, {"page": "-3"}).items[0] == 0
    beyond = style.paginate(items, BASE, {"page": "99"})
    assert beyond.items == []
    assert "prev" in parse_links(beyond.headers["link"])


def test_offset_headers_gitlab_style() -> None:
    style = OffsetHeaderPagination(default_per_page=20, max_per_page=100, count_limit=1000)
    page = style.paginate(list(range(45)), BASE, {"page": "2"})
    assert page.items == list(range(20, 40))
    h = page.headers
    assert (h["x-page"], h["x-per-page"], h["x-next-page"], h["x-prev-page"]) == (
        "2",
        "20",
        "3",
        "1",
    )
    assert (h["x-total"], h["x-total-pages"]) == ("45", "3")
    assert "link" in h
    last = style.paginate(list(range(45)), BASE, {"page": "3"}).headers
    assert last["x-next-page"] == ""
    big = style.paginate(list(range(1001)), BASE, {}).headers
    assert "x-total" not in big and big["x-next-page"] == "2"


@given(n=st.integers(0, 300), size=st.one_of(st.none(), st.integers(1, 200)))
def test_start_at_walk_visits_every_item_once(n: int, size: int | None) -> None:
    style = StartAtPagination(default_max_results=50, max_results=100)
    items = list(range(n))
    seen: list[int] = []
    start = 0
    while True:
        query = {"startAt": str(start)}
        if size is not None:
            query["maxResults"] = str(size)
        page = style.paginate(items, BASE, query)
        fields = page.fields
        assert fields["total"] == n
        assert fields["startAt"] == start
        assert fields["maxResults"] <= 100
        seen.extend(page.items)
        if fields["isLast"]:
            break
        assert page.items, "a non-last page must make progress"
        start += len(page.items)
    assert seen == items


def test_start_at_zero_max_results_counts_only() -> None:
    page = StartAtPagination().paginate(list(range(7)), BASE, {"maxResults": "0"})
    assert page.items == []
    assert page.fields == {"startAt": 0, "maxResults": 0, "total": 7, "isLast": False}


def test_start_at_negative_is_invalid() -> None:
    with pytest.raises(PaginationError, match="startAt"):
        StartAtPagination().paginate([1], BASE, {"startAt": "-1"})


@given(n=st.integers(0, 300), size=st.integers(1, 120))
def test_token_walk_visits_every_item_once(n: int, size: int) -> None:
    style = TokenPagination(default_max_results=50, max_results=100)
    items = list(range(n))
    seen: list[int] = []
    query: dict[str, str] = {"maxResults": str(size)}
    while True:
        page = style.paginate(items, BASE, query)
        seen.extend(page.items)
        assert len(page.items) <= min(size, 100)
        token = page.fields.get("nextPageToken")
        assert page.fields["isLast"] is (token is None)
        if token is None:
            break
        query = {"maxResults": str(size), "nextPageToken": token}
    assert seen == items


@given(st.text(min_size=1, max_size=30))
def test_foreign_tokens_are_rejected(token: str) -> None:
    style = TokenPagination()
    try:
        page = style.paginate(list(range(10)), BASE, {"nextPageToken": token})
    except PaginationError as exc:
        assert exc.parameter == "nextPageToken"
    else:
        # Only a well-formed token decodes; it must then point inside or past the list.
        assert len(page.items) <= 10


async def test_client_follows_link_header_through_the_app() -> None:
    app = WidgetEmulator()
    for i in range(73):
        app.widgets.insert({"name": f"w{i}"})
    names: list[str] = []
    async with toy_client(app) as client:
        url: str | None = "/widgets?per_page=20"
        while url:
            response = await client.get(url)
            assert response.status_code == 200
            names.extend(w["name"] for w in response.json())
            url = response.links.get("next", {}).get("url")
    assert names == [f"w{i}" for i in range(73)]
    assert app.requests.count(operation="listWidgets") == 4


async def test_body_style_and_bad_token_through_the_app() -> None:
    app = WidgetEmulator(pagination=TokenPagination(default_max_results=2))
    for i in range(3):
        app.widgets.insert({"name": f"w{i}"})
    async with toy_client(app) as client:
        first = (await client.get("/widgets")).json()
        second = (
            await client.get("/widgets", params={"nextPageToken": first["nextPageToken"]})
        ).json()
        bad = await client.get("/widgets", params={"nextPageToken": "garbage!"})
    assert [w["name"] for w in first["values"]] == ["w0", "w1"]
    assert second["isLast"] is True and "nextPageToken" not in second
    assert bad.status_code == 400
    assert "nextPageToken" in bad.json()["message"]
