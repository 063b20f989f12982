"""Retries: bounds, backoff, Retry-After, idempotency-aware re-sending, auth refresh."""

from __future__ import annotations

import random
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import (
    AuthenticationError,
    NotFound,
    RateLimited,
    TransientProviderError,
)
from kradle_providers.http import (
    AuditRecord,
    BudgetRegistry,
    HttpClient,
    ManualClock,
    Response,
    RetryPolicy,
    parse_retry_after,
)

NOW = 1_700_000_000.0
BASE = "https://api.example.test"


class TokenAuth:
    """A minimal AuthScheme: a bearer token, optionally replaced on refusal."""

    def __init__(self, token: str, refreshed: str | None = None) -> None:
        self.token = token
        self.refreshed = refreshed
        self.refresh_calls = 0

    @property
    def credential_id(self) -> str:
        return "cred-1"

    async def authorize(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self.token}"

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        self.refresh_calls += 1
        if self.refreshed is None:
            return False
        self.token = self.refreshed
        return True


def make_client(handler: Any, clock: ManualClock, **kwargs: Any) -> HttpClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4, rng=random.Random(7).random))
    return HttpClient(
        BASE,
        provider="test",
        transport=httpx.MockTransport(handler),
        clock=clock,
        budgets=BudgetRegistry(),
        **kwargs,
    )


# -- parse_retry_after ---------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_seconds_is_exact(seconds: int) -> None:
    assert parse_retry_after(str(seconds), NOW) == float(seconds)


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_http_date_is_exact(delta: int) -> None:
    header = formatdate(NOW + delta, usegmt=True)
    assert parse_retry_after(header, NOW) == float(delta)


@given(st.text(max_size=40))
def test_retry_after_never_crashes_and_is_non_negative(text: str) -> None:
    value = parse_retry_after(text, NOW)
    assert value is None or value >= 0


def test_retry_after_past_date_means_now() -> None:
    assert parse_retry_after(formatdate(NOW - 50, usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


@given(st.integers(min_value=1, max_value=30), st.floats(min_value=0, max_value=0.999))
def test_backoff_is_bounded_and_jittered(attempt: int, draw: float) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=10.0, jitter=0.5, rng=lambda: draw)
    raw = min(10.0, 0.5 * 2 ** (attempt - 1))
    delay = policy.backoff(attempt)
    assert raw * 0.5 <= delay <= raw


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


# -- bounds ----------------------------------------------------------------------


async def test_retries_stop_at_their_bound() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, text="down")

    clock = ManualClock(NOW)
    client = make_client(handler, clock, retry=RetryPolicy(max_attempts=3, rng=lambda: 0.0))
    with pytest.raises(TransientProviderError, match="after 3 attempt") as info:
        await client.get("/things")
    assert calls == 3
    assert info.value.status == 503
    # Two waits between three attempts, exponential without jitter (rng=0).
    assert clock.sleeps == [0.5, 1.0]


async def test_transient_failure_then_success() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        if calls == 2:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"ok": True})

    clock = ManualClock(NOW)
    response = await make_client(handler, clock).get("/things")
    assert response.json() == {"ok": True}
    assert response.attempts == 3
    assert len(clock.sleeps) == 2


async def test_non_retryable_4xx_is_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(404, json={"message": "Not Found"})

    clock = ManualClock(NOW)
    with pytest.raises(NotFound):
        await make_client(handler, clock).get("/missing")
    assert calls == 1
    assert clock.sleeps == []


# -- 429 / Retry-After -------------------------------------------------------------


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_429_retry_after_waits_exactly(form: str) -> None:
    clock = ManualClock(NOW)
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            value = "37" if form == "seconds" else formatdate(clock.now() + 37, usegmt=True)
            return httpx.Response(429, headers={"Retry-After": value})
        return httpx.Response(200, json=[1])

    response = await make_client(handler, clock).get("/x")
    assert response.json() == [1]
    assert clock.sleeps == [37.0]


async def test_429_with_reset_header_waits_until_reset() -> None:
    clock = ManualClock(NOW)
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(
                429,
                headers={
                    "RateLimit-Limit": "100",
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(int(clock.now()) + 12),
                },
            )
        return httpx.Response(200, json={})

    await make_client(handler, clock).get("/x")
    assert sum(clock.sleeps) == pytest.approx(12.0)


async def test_429_exhausted_raises_rate_limited_with_reset() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "5"})

    clock = ManualClock(NOW)
    client = make_client(handler, clock, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(RateLimited) as info:
        await client.get("/x")
    assert info.value.retry_after == 5.0
    assert info.value.reset_at is not None
    assert "after 2 attempt" in str(info.value)


async def test_429_longer_than_max_server_wait_raises_at_once() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"})

    clock = ManualClock(NOW)
    client = make_client(handler, clock, retry=RetryPolicy(max_server_wait=60))
    with pytest.raises(RateLimited):
        await client.get("/x")
    assert clock.sleeps == []


async def test_secondary_rate_limit_403_is_retried_even_for_post() -> None:
    clock = ManualClock(NOW)
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) == 1:
            return httpx.Response(
                403, json={"message": "You have exceeded a secondary rate limit."}
            )
        return httpx.Response(201, json={"id": 1})

    response = await make_client(handler, clock).post("/issues", json={"title": "t"})
    assert response.status_code == 201
    assert len(bodies) == 2  # a rate-limit refusal means nothing was created
    assert len(clock.sleeps) == 1


# -- idempotency -----------------------------------------------------------------


def _dropped(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("connection reset", request=request)


def _timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def _bad_gateway(request: httpx.Request) -> httpx.Response:
    return httpx.Response(502, text="bad gateway")


@pytest.mark.parametrize("failure", [_dropped, _timed_out, _bad_gateway])
async def test_post_without_key_is_never_resent_after_a_lost_response(failure: Any) -> None:
    created = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal created
        created += 1
        response: httpx.Response = failure(request)
        return response

    clock = ManualClock(NOW)
    with pytest.raises(TransientProviderError, match="NOT re-sent") as info:
        await make_client(handler, clock).post("/issues", json={"title": "once"})
    assert created == 1
    assert "idempotency_key" in str(info.value)
    assert clock.sleeps == []


async def test_post_connect_error_is_retried_because_nothing_was_sent() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"id": 9})

    response = await make_client(handler, ManualClock(NOW)).post("/issues", json={})
    assert response.status_code == 201
    assert calls == 2


async def test_post_with_key_is_retried_and_key_repeated() -> None:
    seen_keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_keys.append(request.headers.get("Idempotency-Key"))
        if len(seen_keys) < 3:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(201, json={"id": 1})

    response = await make_client(handler, ManualClock(NOW)).post(
        "/issues", json={"title": "t"}, idempotency_key="intent-42"
    )
    assert response.status_code == 201
    assert seen_keys == ["intent-42", "intent-42", "intent-42"]


async def test_custom_idempotency_header_name() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(201, json={})

    client = make_client(handler, ManualClock(NOW), idempotency_header="X-Request-Key")
    await client.post("/issues", json={}, idempotency_key="k1")
    assert seen[0]["X-Request-Key"] == "k1"
    assert "Idempotency-Key" not in seen[0]


async def test_read_back_avoids_a_duplicate() -> None:
    store: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            store.append({"id": len(store) + 1, "title": "t"})
            # The write happened, but the answer never arrives.
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json=store)

    clock = ManualClock(NOW)
    records: list[AuditRecord] = []
    client = make_client(handler, clock, audit_hooks=[records.append])

    async def find() -> dict[str, Any] | None:
        listing = await client.get("/issues", conditional=False)
        found = [i for i in listing.json() if i["title"] == "t"]
        return found[0] if found else None

    result = await client.post("/issues", json={"title": "t"}, read_back=find)
    assert result == {"id": 1, "title": "t"}
    assert not isinstance(result, Response)
    assert len(store) == 1
    assert [r.outcome for r in records if r.method == "POST"] == ["error", "recovered"]


async def test_read_back_not_found_resends() -> None:
    posts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        posts += 1
        if posts == 1:
            # Lost before the provider stored anything.
            return httpx.Response(503)
        return httpx.Response(201, json={"id": 5})

    async def find() -> None:
        return None

    result = await make_client(handler, ManualClock(NOW)).post("/issues", json={}, read_back=find)
    assert isinstance(result, Response)
    assert result.status_code == 201
    assert posts == 2


# -- auth ---------------------------------------------------------------------------


async def test_401_refreshes_once_then_succeeds() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer old-token-123":
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(200, json={})

    auth = TokenAuth("old-token-123", refreshed="new-token-456")
    await make_client(handler, ManualClock(NOW), auth=auth).get("/me")
    assert seen == ["Bearer old-token-123", "Bearer new-token-456"]
    assert auth.refresh_calls == 1


async def test_401_without_refresh_raises_authentication_error() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401, json={"message": "Bad credentials"})

    auth = TokenAuth("dead-token-123", refreshed="still-dead-456")
    with pytest.raises(AuthenticationError, match="credential was refused"):
        await make_client(handler, ManualClock(NOW), auth=auth).get("/me")
    # One refresh, one re-send, then the refusal is final.
    assert calls == 2
    assert auth.refresh_calls == 1
