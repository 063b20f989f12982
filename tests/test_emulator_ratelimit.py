"""Rate-limit accounting: per-credential budgets, conventions, resets, secondary limits."""

from __future__ import annotations

from datetime import UTC, datetime

from test_emulator_toy import AUTH, WidgetEmulator, toy_client

from kradle_providers.testing.emulator import (
    ManualClock,
    RateLimitConvention,
    RateLimiter,
    RateLimitPolicy,
    SecondaryLimit,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
EPOCH = int(START.timestamp())


async def test_x_ratelimit_headers_decrement_and_reset_after_window() -> None:
    app = WidgetEmulator(
        clock=ManualClock(START),
        rate_limit=RateLimitPolicy(
            limit=3, window_seconds=3600, exhausted_status=403, resource="core"
        ),
    )
    async with toy_client(app) as client:
        seen = []
        for _ in range(3):
            r = await client.get("/widgets")
            seen.append((r.headers["x-ratelimit-remaining"], r.headers["x-ratelimit-used"]))
        assert seen == [("2", "1"), ("1", "2"), ("0", "3")]
        assert r.headers["x-ratelimit-limit"] == "3"
        assert r.headers["x-ratelimit-reset"] == str(EPOCH + 3600)
        assert r.headers["x-ratelimit-resource"] == "core"

        refused = await client.get("/widgets")
        assert refused.status_code == 403
        assert refused.json()["message"] == "API rate limit exceeded"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert "retry-after" not in refused.headers  # GitHub-style primary limit

        app.manual_clock.advance(3600)
        again = await client.get("/widgets")
        assert again.status_code == 200
        assert again.headers["x-ratelimit-remaining"] == "2"
        assert again.headers["x-ratelimit-reset"] == str(EPOCH + 7200)


async def test_budgets_are_per_credential_with_anonymous_limit() -> None:
    app = WidgetEmulator(rate_limit=RateLimitPolicy(limit=10, anonymous_limit=2))
    async with app.client() as anon, toy_client(app) as authed:
        await anon.get("/widgets")
        await anon.get("/widgets")
        assert (await anon.get("/widgets")).status_code == 429
        ok = await authed.get("/widgets")
    assert ok.status_code == 200
    assert ok.headers["x-ratelimit-remaining"] == "9"


async def test_uncharged_route_reports_budget_without_spending_it() -> None:
    app = WidgetEmulator(rate_limit=RateLimitPolicy(limit=5))
    async with toy_client(app) as client:
        await client.get("/widgets")
        status = await client.get("/rate_limit")
        again = await client.get("/rate_limit")
    assert status.json()["resources"]["core"]["remaining"] == 4
    assert again.headers["x-ratelimit-remaining"] == "4"


async def test_ratelimit_epoch_convention_answers_429_with_retry_after() -> None:
    app = WidgetEmulator(
        clock=ManualClock(START),
        rate_limit=RateLimitPolicy(
            limit=1, window_seconds=60, convention=RateLimitConvention.RATELIMIT_EPOCH
        ),
    )
    async with toy_client(app) as client:
        ok = await client.get("/widgets")
        app.manual_clock.advance(15)
        refused = await client.get("/widgets")
    assert ok.headers["ratelimit-remaining"] == "0"
    assert ok.headers["ratelimit-observed"] == "1"
    assert ok.headers["ratelimit-reset"] == str(EPOCH + 60)
    assert ok.headers["ratelimit-resettime"] == "Mon, 01 Jan 2024 00:01:00 GMT"
    assert "x-ratelimit-remaining" not in ok.headers
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "45"


async def test_ratelimit_delta_convention_counts_seconds_to_reset() -> None:
    app = WidgetEmulator(
        clock=ManualClock(START),
        rate_limit=RateLimitPolicy(
            limit=2, window_seconds=60, convention=RateLimitConvention.RATELIMIT_DELTA
        ),
    )
    async with toy_client(app) as client:
        first = await client.get("/widgets")
        app.manual_clock.advance(20)
        second = await client.get("/widgets")
    assert first.headers["ratelimit-reset"] == "60"
    assert second.headers["ratelimit-reset"] == "40"
    assert second.headers["ratelimit-remaining"] == "0"


async def test_retry_after_only_convention_is_silent_until_limited() -> None:
    app = WidgetEmulator(
        clock=ManualClock(START),
        rate_limit=RateLimitPolicy(
            limit=1, window_seconds=30, convention=RateLimitConvention.RETRY_AFTER_ONLY
        ),
    )
    async with toy_client(app) as client:
        ok = await client.get("/widgets")
        refused = await client.get("/widgets")
    assert not any("ratelimit" in h for h in ok.headers)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"


async def test_secondary_limit_on_writes_answers_403_with_retry_after() -> None:
    app = WidgetEmulator(
        clock=ManualClock(START),
        rate_limit=RateLimitPolicy(
            limit=100,
            secondary=SecondaryLimit(
                max_requests=2, window_seconds=60, retry_after=None, methods=frozenset({"POST"})
            ),
        ),
    )
    async with toy_client(app) as client:
        for i in range(2):
            assert (await client.post("/widgets", json={"name": str(i)})).status_code == 201
        app.manual_clock.advance(10)
        refused = await client.post("/widgets", json={"name": "x"})
        read = await client.get("/widgets")
        app.manual_clock.advance(50)
        later = await client.post("/widgets", json={"name": "y"})
    assert refused.status_code == 403
    assert refused.headers["retry-after"] == "50"
    assert "secondary rate limit" in refused.json()["message"]
    assert refused.headers["x-ratelimit-remaining"] == "98"  # not charged
    assert read.status_code == 200
    assert later.status_code == 201
    assert [w["name"] for w in app.widgets.all()] == ["0", "1", "y"]


def test_limiter_set_remaining_refund_and_reset() -> None:
    clock = ManualClock(START)
    limiter = RateLimiter(RateLimitPolicy(limit=5), clock=clock)
    limiter.set_remaining("c", 0)
    decision = limiter.charge("c")
    assert not decision.allowed
    assert decision.scope == "primary"
    assert decision.retry_after == 3600
    limiter.refund("c")
    assert limiter.charge("c").allowed
    limiter.refund("c", cost=10)
    assert limiter.budget("c").remaining == 5  # never above the limit
    limiter.reset()
    assert limiter.budget("c").used == 0


async def test_route_cost_is_charged() -> None:
    app = WidgetEmulator(rate_limit=RateLimitPolicy(limit=10))
    app.route("GET", "/expensive", app.list_widgets, name="expensive", cost=4)
    async with app.client(headers=AUTH) as client:
        r = await client.get("/expensive")
    assert r.headers["x-ratelimit-remaining"] == "6"
