"""Conditional requests: ETag / Last-Modified cache, 304 handling, bounds, isolation."""

from __future__ import annotations

import httpx
import pytest

from kradle_providers.http import (
    BudgetRegistry,
    CachedEntry,
    ConditionalCache,
    HttpClient,
    ManualClock,
)


class Auth:
    def __init__(self, cid: str) -> None:
        self.cid = cid

    @property
    def credential_id(self) -> str:
        return self.cid

    async def authorize(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"token tok-{self.cid}-xyz123"

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        return False


class VersionedServer:
    """A resource with a version; answers 304 to a matching validator."""

    def __init__(self, use_etag: bool = True) -> None:
        self.version = 1
        self.use_etag = use_etag
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method != "GET":
            self.version += 1
            return httpx.Response(200, json={"v": self.version})
        etag = f'"v{self.version}"'
        modified = f"Tue, 14 Nov 2023 22:1{self.version}:00 GMT"
        if self.use_etag and request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        if not self.use_etag and request.headers.get("If-Modified-Since") == modified:
            return httpx.Response(304)
        headers = {"ETag": etag} if self.use_etag else {"Last-Modified": modified}
        return httpx.Response(200, json={"v": self.version}, headers=headers)


def client(server: VersionedServer, cid: str = "a", **kwargs: object) -> HttpClient:
    return HttpClient(
        "https://api.example.test",
        provider="p",
        auth=Auth(cid),
        transport=httpx.MockTransport(server),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("use_etag", [True, False])
async def test_304_returns_the_cached_body(use_etag: bool) -> None:
    server = VersionedServer(use_etag)
    c = client(server)
    first = await c.get("/repo", params={"a": 1})
    second = await c.get("/repo", params={"a": 1})
    assert not first.from_cache
    assert second.from_cache and second.status_code == 200 and second.revalidated_status == 304
    assert second.json() == first.json() == {"v": 1}
    header = "If-None-Match" if use_etag else "If-Modified-Since"
    assert header not in server.requests[0].headers
    assert header in server.requests[1].headers


async def test_changed_resource_is_fetched_again_and_write_invalidates() -> None:
    server = VersionedServer()
    c = client(server)
    await c.get("/repo")
    await c.patch("/repo", json={"x": 1})
    fresh = await c.get("/repo")
    assert not fresh.from_cache
    assert fresh.json() == {"v": 2}
    assert "If-None-Match" not in server.requests[-1].headers


async def test_cache_is_keyed_by_credential_and_query() -> None:
    server = VersionedServer()
    cache = ConditionalCache()
    a = client(server, "a", cache=cache)
    b = client(server, "b", cache=cache)
    await a.get("/repo")
    await b.get("/repo")
    await a.get("/repo", params={"page": 2})
    assert [("If-None-Match" in r.headers) for r in server.requests] == [False, False, False]
    assert len(cache) == 3


async def test_conditional_can_be_turned_off() -> None:
    server = VersionedServer()
    c = client(server)
    await c.get("/repo")
    again = await c.get("/repo", conditional=False)
    assert not again.from_cache
    assert "If-None-Match" not in server.requests[-1].headers
    off = client(server, cache=False)
    await off.get("/repo")
    assert not (await off.get("/repo")).from_cache


def test_cache_is_lru_bounded() -> None:
    cache = ConditionalCache(max_entries=2)
    entry = CachedEntry('"e"', None, 200, (), b"{}")
    k1, k2, k3 = (cache.key("c", "GET", f"https://x/{i}") for i in range(3))
    cache.put(k1, entry)
    cache.put(k2, entry)
    assert cache.get(k1) is entry  # k1 is now the most recently used
    cache.put(k3, entry)
    assert cache.get(k2) is None
    assert cache.get(k1) is entry and cache.get(k3) is entry
    cache.put(cache.key("c", "GET", "https://x/none"), CachedEntry(None, None, 200, (), b""))
    assert len(cache) == 2  # nothing to revalidate with: not stored
    with pytest.raises(ValueError):
        ConditionalCache(max_entries=0)
