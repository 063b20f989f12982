"""One Link-paged JSON-array listing page: cursors, skipped items, high-water mark."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kradle_providers.errors import InvalidInput, KradleError
from kradle_providers.http import HttpClient
from kradle_providers.http.listing import link_list_page
from kradle_providers.models.tolerance import SKIPPED
from kradle_providers.protocols.page import decode_cursor, encode_cursor

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
