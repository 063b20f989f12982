"""Rate-limit header conventions, the shared per-credential budget, pacing and exhaustion."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import RateLimited
from kradle_providers.http import (
    BudgetRegistry,
    HttpClient,
    ManualClock,
    RateLimitBudget,
    RateLimitInfo,
    is_rate_limit_refusal,
    parse_rate_limit_headers,
    parse_reset,
)

NOW = 1_700_000_000.0
BASE = "https://api.example.test"


class StaticAuth:
    def __init__(self, credential_id: str = "cred-1") -> None:
        self._id = credential_id

    @property
    def credential_id(self) -> str:
        return self._id

    async def authorize(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = "Bearer static-token-abcdef"

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        return False


# -- header conventions --------------------------------------------------------------


def test_x_ratelimit_epoch_convention_github_style() -> None:
    info = parse_rate_limit_headers(
        httpx.Headers(
            {
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "4990",
                "X-RateLimit-Reset": "1700003600",
                "X-RateLimit-Used": "10",
                "X-RateLimit-Resource": "core",
            }
        ),
        NOW,
    )
    assert info == RateLimitInfo("x-ratelimit", 5000, 4990, 1700003600.0, 10, "core")


def test_x_ratelimit_iso_convention_jira_style() -> None:
    info = parse_rate_limit_headers(
        httpx.Headers(
            {
                "X-RateLimit-Limit": "350",
                "X-RateLimit-Remaining": "349",
                "X-RateLimit-Reset": "2023-11-14T22:15:00Z",
            }
        ),
        NOW,
    )
    assert info is not None
    assert info.reset_at == datetime(2023, 11, 14, 22, 15, tzinfo=UTC).timestamp()
    assert (info.limit, info.remaining) == (350, 349)


def test_ratelimit_epoch_convention_gitlab_style() -> None:
    info = parse_rate_limit_headers(
        httpx.Headers(
            {
                "RateLimit-Limit": "2000",
                "RateLimit-Remaining": "1999",
                "RateLimit-Reset": "1700000060",
                "RateLimit-ResetTime": "Tue, 14 Nov 2023 22:14:20 GMT",
                "RateLimit-Observed": "1",
            }
        ),
        NOW,
    )
    assert info == RateLimitInfo("ratelimit", 2000, 1999, 1700000060.0, 1, None)


def test_ratelimit_reset_time_used_when_reset_missing() -> None:
    info = parse_rate_limit_headers(
        httpx.Headers(
            {"RateLimit-Limit": "10", "RateLimit-ResetTime": "Tue, 14 Nov 2023 22:14:20 GMT"}
        ),
        NOW,
    )
    assert info is not None
    assert info.reset_at == datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC).timestamp()


def test_ratelimit_delta_convention_buildkite_style() -> None:
    info = parse_rate_limit_headers(
        httpx.Headers(
            {"RateLimit-Limit": "200", "RateLimit-Remaining": "150", "RateLimit-Reset": "42"}
        ),
        NOW,
    )
    assert info is not None
    assert info.reset_at == NOW + 42


def test_no_rate_limit_headers() -> None:
    assert parse_rate_limit_headers(httpx.Headers({"Content-Type": "text/plain"}), NOW) is None


@given(st.integers(min_value=0, max_value=999_999_999))
def test_small_reset_numbers_are_delays(delta: int) -> None:
    assert parse_reset(str(delta), NOW) == NOW + delta


@given(st.integers(min_value=1_000_000_000, max_value=4_000_000_000))
def test_large_reset_numbers_are_epochs(epoch: int) -> None:
    assert parse_reset(str(epoch), NOW) == float(epoch)


@given(st.text(max_size=40))
def test_reset_parser_never_crashes(text: str) -> None:
    parse_reset(text, NOW)


def test_rate_limit_refusal_detection() -> None:
    assert is_rate_limit_refusal(429, httpx.Headers(), "")
    assert is_rate_limit_refusal(403, httpx.Headers({"Retry-After": "60"}), "")
    assert is_rate_limit_refusal(403, httpx.Headers(), "You have exceeded a secondary rate limit")
    assert is_rate_limit_refusal(403, httpx.Headers({"X-RateLimit-Remaining": "0"}), "")
    assert not is_rate_limit_refusal(403, httpx.Headers(), "Resource not accessible by integration")
    assert not is_rate_limit_refusal(500, httpx.Headers({"Retry-After": "1"}), "")


# -- the budget ------------------------------------------------------------------------


async def test_budget_spaces_requests_before_zero_and_waits_at_zero() -> None:
    clock = ManualClock(NOW)
    budget = RateLimitBudget("k", slow_down_below=0.1)
    budget.observe(RateLimitInfo("x-ratelimit", limit=100, remaining=4, reset_at=NOW + 100))
    starts: list[float] = []
    for _ in range(5):
        await budget.acquire(clock)
        starts.append(clock.now() - NOW)
    # Four requests fit before the reset, spread out; the fifth waits for the reset.
    assert starts[:4] == pytest.approx([0.0, 25.0, 25.0 + 100 / 3, 25.0 + 100 / 3 + 37.5])
    assert all(start < 100 for start in starts[:4])
    assert starts[4] >= 100
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap > 0 for gap in gaps)


async def test_budget_above_threshold_does_not_wait() -> None:
    clock = ManualClock(NOW)
    budget = RateLimitBudget("k", slow_down_below=0.1)
    budget.observe(RateLimitInfo("x-ratelimit", limit=100, remaining=50, reset_at=NOW + 100))
    for _ in range(30):
        await budget.acquire(clock)
    assert clock.sleeps == []
    snap = budget.current()
    assert snap is not None and snap.remaining == 20


async def test_budget_exhausted_raises_when_asked() -> None:
    clock = ManualClock(NOW)
    budget = RateLimitBudget("k")
    budget.observe(RateLimitInfo("ratelimit", limit=10, remaining=0, reset_at=NOW + 30))
    with pytest.raises(RateLimited) as info:
        await budget.acquire(clock, on_exhausted="raise")
    assert info.value.reset_at == datetime.fromtimestamp(NOW + 30, tz=UTC)
    assert info.value.scope == "default"
    assert clock.sleeps == []


async def test_budget_exhausted_waits_until_reset() -> None:
    clock = ManualClock(NOW)
    budget = RateLimitBudget("k")
    budget.observe(RateLimitInfo("ratelimit", limit=10, remaining=0, reset_at=NOW + 30))
    await budget.acquire(clock, on_exhausted="wait")
    assert clock.sleeps == [30.0]


async def test_block_until_pauses_everyone() -> None:
    clock = ManualClock(NOW)
    budget = RateLimitBudget("k")
    budget.block_until(NOW + 15)
    with pytest.raises(RateLimited) as info:
        await budget.acquire(clock, on_exhausted="raise")
    assert info.value.scope == "secondary"
    await budget.acquire(clock)
    assert clock.sleeps == [15.0]


async def test_concurrent_tasks_get_distinct_slots() -> None:
    clock = ManualClock(NOW)
    budget = RateLimitBudget("k", slow_down_below=0.5)
    budget.observe(RateLimitInfo("x-ratelimit", limit=100, remaining=10, reset_at=NOW + 100))
    await asyncio.gather(*(budget.acquire(clock) for _ in range(4)))
    snap = budget.current()
    assert snap is not None and snap.remaining == 6
    # Each concurrent caller after the first got its own later slot.
    assert len(clock.sleeps) == 3
    assert len(set(clock.sleeps)) == 3


def test_scopes_are_tracked_separately() -> None:
    budget = RateLimitBudget("k")
    budget.observe(RateLimitInfo("x-ratelimit", 5000, 4000, NOW + 60, 1000, "core"))
    budget.observe(RateLimitInfo("x-ratelimit", 30, 2, NOW + 60, 28, "search"), scope="search")
    scopes = {s.scope: s for s in budget.snapshot()}
    assert set(scopes) == {"core", "search"}
    assert scopes["search"].remaining == 2
    default = budget.current()
    assert default is not None and default.scope == "core"


def test_registry_shares_budget_per_credential_and_base_url() -> None:
    registry = BudgetRegistry()
    a = HttpClient(BASE, provider="p", auth=StaticAuth("c1"), budgets=registry)
    b = HttpClient(BASE + "/", provider="p", auth=StaticAuth("c1"), budgets=registry)
    c = HttpClient(BASE, provider="p", auth=StaticAuth("c2"), budgets=registry)
    assert a.budget is b.budget
    assert a.budget is not c.budget
    assert set(registry.snapshot()) == {"c1@" + BASE, "c2@" + BASE}


# -- through the client, against a counting server -----------------------------------


class BudgetServer:
    """Charges one unit per 200 and none per 304; refills at reset."""

    def __init__(self, clock: ManualClock, limit: int, remaining: int, window: float) -> None:
        self.clock = clock
        self.limit = limit
        self.remaining = remaining
        self.window = window
        self.reset = clock.now() + window
        self.served: list[float] = []
        self.refused = 0

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset)),
            "X-RateLimit-Resource": "core",
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.now()
        if now >= self.reset:
            self.remaining = self.limit
            self.reset = now + self.window
        if self.remaining <= 0:
            self.refused += 1
            return httpx.Response(
                403, json={"message": "API rate limit exceeded"}, headers=self.headers()
            )
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304, headers={**self.headers(), "ETag": '"v1"'})
        self.remaining -= 1
        self.served.append(now)
        return httpx.Response(
            200, json={"n": len(self.served)}, headers={**self.headers(), "ETag": '"v1"'}
        )


def make(server: BudgetServer, clock: ManualClock, **kwargs: Any) -> HttpClient:
    return HttpClient(
        BASE,
        provider="p",
        auth=StaticAuth(),
        transport=httpx.MockTransport(server),
        clock=clock,
        budgets=BudgetRegistry(),
        **kwargs,
    )


async def test_client_paces_and_never_overdraws() -> None:
    clock = ManualClock(NOW)
    server = BudgetServer(clock, limit=100, remaining=5, window=100)
    client = make(server, clock)
    for i in range(8):
        await client.get(f"/items/{i}")
    # Five fit in the first window, spaced out; then the budget waited for the reset.
    first_window = [t for t in server.served if t < NOW + 100]
    assert len(first_window) == 5
    assert len(set(first_window)) >= 4
    assert len(server.served) == 8
    assert server.refused == 0  # the client waited; the provider never had to refuse
    snapshot = client.budget_snapshot()
    assert snapshot[0].scope == "core" and snapshot[0].limit == 100


async def test_client_raises_at_zero_when_configured() -> None:
    clock = ManualClock(NOW)
    server = BudgetServer(clock, limit=100, remaining=1, window=100)
    client = make(server, clock, on_exhausted="raise")
    await client.get("/a")
    with pytest.raises(RateLimited) as info:
        await client.get("/b")
    assert info.value.reset_at == datetime.fromtimestamp(NOW + 100, tz=UTC)
    assert len(server.served) == 1


async def test_304_costs_no_budget() -> None:
    clock = ManualClock(NOW)
    server = BudgetServer(clock, limit=100, remaining=50, window=3600)
    client = make(server, clock)
    first = await client.get("/repo")
    before = client.budget.current()
    assert before is not None and before.remaining == 49
    for _ in range(5):
        again = await client.get("/repo")
        assert again.from_cache and again.status_code == 200
        assert again.json() == first.json()
    after = client.budget.current()
    assert after is not None and after.remaining == 49
    assert len(server.served) == 1
    assert server.refused == 0


async def test_refund_restores_the_local_estimate() -> None:
    clock = ManualClock(NOW)
    budget = RateLimitBudget("k")
    budget.observe(RateLimitInfo("ratelimit", limit=100, remaining=50, reset_at=None))
    # Without headers, the local estimate is what the client spends.
    await budget.acquire(clock)
    snap = budget.current()
    assert snap is not None and snap.remaining == 49
    budget.refund(1)
    snap = budget.current()
    assert snap is not None and snap.remaining == 50
