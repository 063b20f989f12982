"""Reads that outlive a process or are shared within a run (issue 16 item 1).

- validators in a :class:`ValidatorBackend` let a new client (a new process)
  revalidate instead of re-reading, and never keep credential headers;
- ``max_age`` answers discovery reads from the stored body while fresh;
- inside :func:`read_snapshot`, an identical GET asked again (even while the
  first is in flight) is sent once; a failed read is not shared.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from kradle_providers.errors import NotFound
from kradle_providers.http import (
    BudgetRegistry,
    HttpClient,
    InMemoryValidatorBackend,
    ManualClock,
    read_snapshot,
)


class Server:
    def __init__(self) -> None:
        self.version = 1
        self.requests: list[httpx.Request] = []
        self.fail = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await asyncio.sleep(0.01)
        if self.fail:
            return httpx.Response(404, json={"message": "gone"})
        etag = f'"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        headers = {"ETag": etag, "Set-Cookie": "session=s3cr3t-cookie"}
        return httpx.Response(200, json={"v": self.version}, headers=headers)


def new_client(server: Server, clock: ManualClock | None = None) -> HttpClient:
    """A client as a new process would make it: empty memory, its own budgets."""
    return HttpClient(
        "https://api.example.test",
        provider="p",
        transport=httpx.MockTransport(server),
        budgets=BudgetRegistry(),
        clock=clock,
    )


async def test_a_new_client_revalidates_with_the_stored_validators() -> None:
    server, backend = Server(), InMemoryValidatorBackend()
    first = new_client(server)
    first.share_validators_with(backend)
    assert (await first.get("/r")).json() == {"v": 1}
    second = new_client(server)
    second.share_validators_with(backend)
    again = await second.get("/r")
    assert again.from_cache and again.json() == {"v": 1}
    assert server.requests[-1].headers["If-None-Match"] == '"v1"'
    server.version = 2
    assert (await new_client_with(server, backend).get("/r")).json() == {"v": 2}
    stored = next(iter(backend.entries.values()))
    assert "s3cr3t" not in repr(stored.headers)  # credential headers are never kept


def new_client_with(server: Server, backend: InMemoryValidatorBackend) -> HttpClient:
    c = new_client(server)
    c.share_validators_with(backend)
    return c


async def test_a_client_without_shared_validators_reads_again() -> None:
    server = Server()
    await new_client(server).get("/r")
    await new_client(server).get("/r")
    assert "If-None-Match" not in server.requests[-1].headers


async def test_max_age_answers_from_the_store_while_fresh_then_asks_again() -> None:
    server, backend, clock = Server(), InMemoryValidatorBackend(), ManualClock()
    await new_client_with_clock(server, backend, clock).get("/info", max_age=60)
    later = new_client_with_clock(server, backend, clock)
    assert (await later.get("/info", max_age=60)).json() == {"v": 1}
    assert len(server.requests) == 1
    clock.advance(61)
    server.version = 2
    assert (await later.get("/info", max_age=60)).json() == {"v": 2}
    assert len(server.requests) == 2


def new_client_with_clock(
    server: Server, backend: InMemoryValidatorBackend, clock: ManualClock
) -> HttpClient:
    c = new_client(server, clock)
    c.share_validators_with(backend)
    return c


async def test_a_snapshot_sends_an_identical_get_once_even_in_flight() -> None:
    server = Server()
    c = new_client(server)
    with read_snapshot():
        a, b = await asyncio.gather(c.get("/r", params={"x": 1}), c.get("/r", params={"x": 1}))
        other = await c.get("/r", params={"x": 2})
    assert a.json() == b.json() == other.json() == {"v": 1}
    assert len(server.requests) == 2
    await c.get("/r", params={"x": 1})  # outside the scope: sent (conditionally)
    assert len(server.requests) == 3


async def test_a_snapshot_answer_is_reused_once_and_failures_are_not_shared() -> None:
    server = Server()
    c = new_client(server)
    with read_snapshot():
        await c.get("/r")
        await c.get("/r")
        await c.get("/r")  # the answer was taken: asked again
        assert len(server.requests) == 2
        server.fail = True
        with pytest.raises(NotFound):
            await c.get("/gone")
        server.fail = False
        assert (await c.get("/gone")).json() == {"v": 1}
    assert len(server.requests) == 4


async def test_a_snapshot_keeps_at_most_max_entries_answers() -> None:
    server = Server()
    c = new_client(server)
    with read_snapshot(max_entries=2) as snapshot:
        for i in range(5):
            await c.get("/r", params={"i": i})
        assert len(snapshot) == 2


async def test_a_cancelled_read_does_not_leave_its_sharer_waiting() -> None:
    server = Server()
    c = new_client(server)
    with read_snapshot():
        first = asyncio.create_task(c.get("/slow"))
        await asyncio.sleep(0)  # the first read is in flight
        second = asyncio.create_task(c.get("/slow"))
        await asyncio.sleep(0)
        first.cancel()
        answer = await asyncio.wait_for(second, timeout=2)  # it reads for itself
    assert answer.json() == {"v": 1}
    assert first.cancelled()
