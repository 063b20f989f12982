"""Streaming bodies, in-process emulators and redirects."""

from __future__ import annotations

import httpx
import pytest

from kradle_providers.auth import Secret
from kradle_providers.errors import NotFound, ProviderError
from kradle_providers.http import (
    BudgetRegistry,
    HttpClient,
    ManualClock,
)

LOG_SECRET = Secret("s3cr3t-in-a-job-log-000")


def log_server() -> httpx.MockTransport:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if request.url.path == "/missing":
            return httpx.Response(404, json={"message": "Not Found"})
        if calls["n"] == 1:
            return httpx.Response(503)
        body = f"step 1\nusing {LOG_SECRET.reveal()}\nstep 3\n".encode()
        return httpx.Response(200, content=body, headers={"Content-Type": "text/plain"})

    return httpx.MockTransport(handler)


def make() -> HttpClient:
    return HttpClient(
        "https://api.example.test",
        provider="p",
        transport=log_server(),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
    )


async def test_stream_retries_then_yields_redacted_lines() -> None:
    client = make()
    async with client.stream("GET", "/jobs/1/log") as resp:
        assert resp.status_code == 200
        assert resp.attempts == 2
        lines = [line async for line in resp.aiter_lines()]
    assert lines == ["step 1", "using ***", "step 3"]


async def test_stream_raw_bytes_and_errors() -> None:
    client = make()
    async with client.stream("GET", "/jobs/1/log") as resp:
        data = b"".join([chunk async for chunk in resp.aiter_bytes()])
    assert LOG_SECRET.reveal().encode() in data  # raw bytes are the caller's to handle
    with pytest.raises(NotFound):
        async with client.stream("GET", "/missing"):
            pass


async def test_works_against_an_in_process_asgi_emulator() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def item(request: Request) -> JSONResponse:
        return JSONResponse(
            {"id": request.path_params["n"], "q": request.query_params.get("q")},
            headers={"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "60"},
        )

    app = Starlette(routes=[Route("/api/items/{n}", item)])
    client = HttpClient(
        "http://emulator.test/api",
        provider="p",
        transport=httpx.ASGITransport(app=app),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
    )
    response = await client.get("items/7", params={"q": "x y", "skip": None})
    assert response.json() == {"id": "7", "q": "x y"}
    snap = client.budget.current()
    assert snap is not None and (snap.limit, snap.remaining) == (10, 9)


async def test_too_many_redirects_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": str(request.url)})

    client = HttpClient(
        "https://api.example.test",
        provider="p",
        transport=httpx.MockTransport(handler),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
    )
    with pytest.raises(ProviderError, match="TooManyRedirects"):
        await client.get("/loop")
