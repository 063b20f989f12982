"""One Link-paged JSON-array listing page: cursors, skipped items, high-water mark."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput, KradleError
from kradle_providers.http import HttpClient
from kradle_providers.http.listing import SEEN_KEY, drop_repeated, link_list_page
from kradle_providers.models.tolerance import SKIPPED
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

BASE = "https://api.acme.test/v1"


def serve(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params.get("page", "1"))
    items = [{"id": n, "at": f"2024-01-0{n}T00:00:00Z"} for n in (2 * page - 1, 2 * page)]
    if page == 1:
        items.append({"broken": True})
    headers = {"link": f'<{BASE}/things?page=2&per_page=2>; rel="next"'} if page == 1 else {}
    return httpx.Response(200, json=items, headers=headers)


def convert(native: Any) -> dict[str, Any]:
    if "id" not in native:
        raise KradleError("no id")
    return {"id": native["id"], "at": datetime.fromisoformat(native["at"])}


async def test_pages_follow_next_skip_broken_items_and_mark_the_newest() -> None:
    http = HttpClient(BASE, provider="acme", transport=httpx.MockTransport(serve))
    try:
        first, nxt = await link_list_page(
            http, "/things", {}, cursor=None, per_page=2, convert=convert,
            updated=lambda i: i["at"], extra={"stage": 1},
        )  # fmt: skip
        assert [i["id"] for i in first.items] == [1, 2]
        assert len(first.extra[SKIPPED]) == 1
        assert first.high_water_mark == datetime(2024, 1, 2, tzinfo=UTC)
        assert first.next_cursor is not None and nxt is not None
        assert decode_cursor(first.next_cursor) == {"stage": 1, "url": nxt}
        second, last = await link_list_page(
            http, "/things", {}, cursor=first.next_cursor, per_page=2, convert=convert
        )
        assert [i["id"] for i in second.items] == [3, 4]
        assert second.next_cursor is None and last is None
        outside = encode_cursor({"url": "https://api.acme.test.evil.example/v1/things"})
        with pytest.raises(InvalidInput, match="not a cursor this Acme adapter issued"):
            await link_list_page(http, "/things", {}, cursor=outside, per_page=2, convert=convert)
    finally:
        await http.aclose()


# --- drop_repeated: offset paging while objects are inserted before the cursor ---------


class _Obj:
    """The shape drop_repeated reads: ``external.native_id``."""

    def __init__(self, native_id: str) -> None:
        self.external = SimpleNamespace(native_id=native_id)


def _newest_first_offset_listing(existing: list[str], inserts: list[int], size: int) -> list[str]:
    """Page a newest-first listing by offset, inserting ``inserts[k]`` new objects in front
    after page k; every page goes through drop_repeated. Returns the ids listed."""
    rows = list(existing)  # newest first
    listed: list[str] = []
    cursor: str | None = None
    serial = 0
    for k in range(1000):
        offset = decode_cursor(cursor).get("offset", 0) if cursor else 0
        chunk = rows[offset : offset + size]
        more = offset + size < len(rows)
        raw: Page[_Obj] = Page(
            items=[_Obj(i) for i in chunk],
            next_cursor=encode_cursor({"offset": offset + size}) if more else None,
        )
        page = drop_repeated(raw, cursor)
        listed += [i.external.native_id for i in page.items]
        if page.next_cursor is None:
            return listed
        cursor = page.next_cursor
        for _ in range(inserts[k] if k < len(inserts) else 0):
            serial += 1
            rows.insert(0, f"new-{serial}")
    raise AssertionError("the listing did not end")


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=30),
    size=st.integers(min_value=1, max_value=5),
    inserts=st.lists(st.integers(min_value=0, max_value=4), max_size=30),
)
def test_objects_inserted_before_the_cursor_are_never_listed_twice(
    count: int, size: int, inserts: list[int]
) -> None:
    existing = [f"old-{n}" for n in range(count)]
    listed = _newest_first_offset_listing(existing, inserts, size)
    assert len(listed) == len(set(listed))
    assert set(existing) <= set(listed)


def test_the_cursor_keeps_only_the_last_ids_and_is_untouched_without_any() -> None:
    page: Page[_Obj] = Page(items=[_Obj(str(n)) for n in range(5)], next_cursor=encode_cursor({}))
    kept = drop_repeated(page, None, keep=3)
    assert kept.next_cursor is not None
    assert decode_cursor(kept.next_cursor)[SEEN_KEY] == ["2", "3", "4"]
    plain: Page[dict[str, int]] = Page(items=[{"id": 1}], next_cursor=encode_cursor({"o": 1}))
    assert drop_repeated(plain, None).next_cursor == plain.next_cursor
    again = drop_repeated(Page(items=[_Obj("4"), _Obj("5")]), kept.next_cursor)
    assert [i.external.native_id for i in again.items] == ["5"]
